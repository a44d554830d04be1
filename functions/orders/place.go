package orders

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/knshop/knshop/lib/auth"
	"github.com/knshop/knshop/lib/events"
	"github.com/knshop/knshop/lib/httpapi"
	"github.com/knshop/knshop/lib/ids"
	"github.com/knshop/knshop/lib/money"
	"github.com/knshop/knshop/lib/orderstore"
)

// Limits of a place-order request.
const (
	maxItems    = 100
	maxQuantity = money.MaxQuantity
)

type itemRequest struct {
	ProductID string `json:"productId"`
	Quantity  int64  `json:"quantity"`
}

type addressRequest struct {
	Label      string `json:"label,omitempty"`
	Line1      string `json:"line1"`
	Line2      string `json:"line2,omitempty"`
	City       string `json:"city"`
	PostalCode string `json:"postalCode"`
	Country    string `json:"country"`
}

type placeRequest struct {
	// Items is nil when the body has none: the cart is ordered.
	Items             *[]itemRequest  `json:"items,omitempty"`
	ShippingAddressID *string         `json:"shippingAddressId,omitempty"`
	ShippingAddress   *addressRequest `json:"shippingAddress,omitempty"`
	PaymentMethod     string          `json:"paymentMethod"`
}

func (req placeRequest) validate() error {
	var v httpapi.Validator
	if req.Items != nil {
		items := *req.Items
		v.Check(len(items) > 0, "items", "must list at least one item, or be left out to order the cart")
		v.Check(len(items) <= maxItems, "items", fmt.Sprintf("at most %d items", maxItems))
		seen := map[string]bool{}
		for i, it := range items {
			field := fmt.Sprintf("items[%d]", i)
			v.Check(it.ProductID != "", field+".productId", "is required")
			v.Check(!seen[it.ProductID], field+".productId", "is listed twice")
			v.Check(it.Quantity >= 1, field+".quantity", "must be at least 1")
			v.Check(it.Quantity <= maxQuantity, field+".quantity", fmt.Sprintf("must be at most %d", maxQuantity))
			seen[it.ProductID] = true
		}
	}
	v.Check((req.ShippingAddressID == nil) != (req.ShippingAddress == nil), "shippingAddress",
		"give exactly one of shippingAddress and shippingAddressId")
	if a := req.ShippingAddress; a != nil {
		v.Check(strings.TrimSpace(a.Line1) != "", "shippingAddress.line1", "is required")
		v.Check(strings.TrimSpace(a.City) != "", "shippingAddress.city", "is required")
		v.Check(strings.TrimSpace(a.PostalCode) != "", "shippingAddress.postalCode", "is required")
		v.Check(len(a.Country) == 2, "shippingAddress.country", "must be an ISO 3166-1 alpha-2 code")
	}
	v.Check(req.PaymentMethod != "" && len(req.PaymentMethod) <= 200, "paymentMethod", "is required (a gateway token)")
	return v.Err()
}

func (f *Orders) place(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	c, _ := auth.FromContext(ctx)
	var req placeRequest
	key, err := httpapi.DecodeKeyed(w, r, &req, func() error { return req.validate() })
	if err != nil {
		f.fail(w, r, err)
		return
	}
	addr, err := f.address(r, c.UserID, req)
	if err != nil {
		f.fail(w, r, err)
		return
	}
	hash, err := httpapi.RequestHash(req)
	if err != nil {
		f.fail(w, r, err)
		return
	}
	pr := orderstore.PlaceRequest{
		OrderID: ids.New(), CustomerID: c.UserID, ShippingAddress: addr, PaymentMethod: req.PaymentMethod,
		IdempotencyKey: key, RequestHash: hash, At: f.now(), PaymentDeadline: f.deadlines.Payment,
	}
	if req.Items != nil {
		for _, it := range *req.Items {
			pr.Items = append(pr.Items, events.Item{ProductID: it.ProductID, Quantity: it.Quantity})
		}
	}
	placed, err := f.store.Place(ctx, pr, orderstore.AnnouncePlaced(ctx, Name))
	if err != nil {
		f.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/orders/"+placed.Order.ID)
	httpapi.JSON(w, http.StatusAccepted, viewOf(placed.Order))
}

// address resolves the shipping address: the one in the body, or the
// customer's saved address (kept by sync-customer) named by id.
func (f *Orders) address(r *http.Request, customerID string, req placeRequest) (events.Address, error) {
	if a := req.ShippingAddress; a != nil {
		return events.Address{Label: a.Label, Line1: a.Line1, Line2: a.Line2, City: a.City, PostalCode: a.PostalCode, Country: a.Country}, nil
	}
	unknown := httpapi.Invalid(httpapi.FieldError{Field: "shippingAddressId", Message: "no such address in your profile"})
	cust, err := f.store.Customer(r.Context(), customerID)
	if errors.Is(err, orderstore.ErrNotFound) {
		return events.Address{}, unknown
	}
	if err != nil {
		return events.Address{}, err
	}
	a, ok := cust.Address(*req.ShippingAddressID)
	if !ok {
		return events.Address{}, unknown
	}
	return a, nil
}
