// Package returns is the HTTP function of returns: a customer asks to
// return units of a completed order (POST /api/orders/{id}/returns), an
// admin receives the parcel or rejects it, and both read them. A return
// lives in the orders database beside its order, so the check that no unit
// is returned twice is taken under the order's row lock. Each change writes
// its event (RETURN_REQUESTED, RETURN_RECEIVED, RETURN_REJECTED) in the same
// transaction and the store publishes it after the commit; restock-return,
// refund-return and complete-return take it from there.
package returns

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/knshop/knshop/lib/auth"
	"github.com/knshop/knshop/lib/events"
	"github.com/knshop/knshop/lib/fn"
	"github.com/knshop/knshop/lib/httpapi"
	"github.com/knshop/knshop/lib/ids"
	"github.com/knshop/knshop/lib/money"
	"github.com/knshop/knshop/lib/orderstore"
	"github.com/knshop/knshop/lib/settings"
)

// Name is the function's name, and the source of its events.
const Name = "returns"

// Limits of a return request.
const (
	maxItems     = 100
	maxReasonLen = 2000
)

// Function is the returns HTTP function.
type Function struct {
	*auth.Routes // built by Start; its Handle serves the function
	store        *orderstore.Store
	window       time.Duration
	now          func() time.Time
}

// New returns the function, unstarted.
func New() *Function { return &Function{now: time.Now} }

// Start reads the configuration (auth keys, RETURN_WINDOW) and opens the
// orders database with its outbox towards K_SINK.
func (f *Function) Start(ctx context.Context, cfg map[string]string) (err error) {
	s := settings.Of(cfg)
	ac := settings.Read(s, auth.ConfigFrom)
	f.window = s.Duration("RETURN_WINDOW", orderstore.DefaultReturnWindow)
	if err := s.Err("returns: config"); err != nil {
		return err
	}
	f.store, err = orderstore.OpenPublishing(ctx, cfg)
	if err := fn.Use(ctx, f.store, err); err != nil {
		return fmt.Errorf("returns: start: %w", err)
	}
	f.Routes = auth.NewRoutes(ac)
	f.SignedIn("POST /api/orders/{id}/returns", f.request)
	f.SignedIn("GET /api/returns", f.list)
	f.SignedIn("GET /api/returns/{id}", f.get)
	f.SignedIn("POST /api/returns/{id}/receive", f.receive, auth.Admin)
	f.SignedIn("POST /api/returns/{id}/reject", f.reject, auth.Admin)
	return nil
}

type itemRequest struct {
	ProductID string `json:"productId"`
	Quantity  int64  `json:"quantity"`
}

type returnRequest struct {
	Items  []itemRequest `json:"items"`
	Reason string        `json:"reason"`
}

func (req returnRequest) validate() error {
	var v httpapi.Validator
	v.Check(len(req.Items) > 0, "items", "must list at least one item")
	v.Check(len(req.Items) <= maxItems, "items", fmt.Sprintf("at most %d items", maxItems))
	seen := map[string]bool{}
	for i, it := range req.Items {
		field := fmt.Sprintf("items[%d]", i)
		v.Check(it.ProductID != "", field+".productId", "is required")
		v.Check(!seen[it.ProductID], field+".productId", "is listed twice")
		v.Check(it.Quantity >= 1 && it.Quantity <= money.MaxQuantity, field+".quantity",
			fmt.Sprintf("must be 1 to %d", money.MaxQuantity))
		seen[it.ProductID] = true
	}
	checkText(&v, "reason", req.Reason)
	return v.Err()
}

// checkText requires a reason of 1 to maxReasonLen characters.
func checkText(v *httpapi.Validator, field, s string) {
	v.Check(strings.TrimSpace(s) != "", field, "is required")
	v.Check(utf8.RuneCountInString(s) <= maxReasonLen, field, fmt.Sprintf("at most %d characters", maxReasonLen))
}

func (f *Function) request(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	c, _ := auth.FromContext(ctx)
	var req returnRequest
	key, err := httpapi.DecodeKeyed(w, r, &req, func() error { return req.validate() })
	if err != nil {
		f.fail(w, r, err)
		return
	}
	hash, err := httpapi.RequestHash(struct {
		OrderID string `json:"orderId"`
		returnRequest
	}{r.PathValue("id"), req})
	if err != nil {
		f.fail(w, r, err)
		return
	}
	rr := orderstore.ReturnRequest{
		ReturnID: ids.New(), OrderID: r.PathValue("id"), CustomerID: c.UserID, Reason: req.Reason,
		IdempotencyKey: key, RequestHash: hash, At: f.now(), Window: f.window,
	}
	for _, it := range req.Items {
		rr.Items = append(rr.Items, events.Item{ProductID: it.ProductID, Quantity: it.Quantity})
	}
	placed, err := f.store.RequestReturn(ctx, rr, Name)
	if errors.Is(err, orderstore.ErrNotFound) {
		err = httpapi.NotFound("order") // missing, or another customer's
	}
	if err != nil {
		f.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/returns/"+placed.Return.ID)
	httpapi.JSON(w, http.StatusAccepted, viewOf(placed.Return))
}

func (f *Function) list(w http.ResponseWriter, r *http.Request) {
	c, _ := auth.FromContext(r.Context())
	page, err := httpapi.ParsePage(r)
	if err != nil {
		f.fail(w, r, err)
		return
	}
	q := orderstore.ReturnQuery{OrderID: r.URL.Query().Get("orderId"), CustomerID: c.UserID, Offset: page.Offset(), Limit: page.Limit}
	if c.Role == auth.Admin {
		q.CustomerID = ""
	}
	list, total, err := f.store.ListReturns(r.Context(), q)
	if err != nil {
		f.fail(w, r, err)
		return
	}
	httpapi.WriteList(w, list, viewOf, page, total)
}

func (f *Function) get(w http.ResponseWriter, r *http.Request) {
	c, _ := auth.FromContext(r.Context())
	ret, err := f.store.GetReturn(r.Context(), r.PathValue("id"))
	if err == nil && ret.CustomerID != c.UserID && c.Role != auth.Admin {
		err = orderstore.ErrNotFound // another customer's: as if missing
	}
	if err != nil {
		f.fail(w, r, err)
		return
	}
	httpapi.JSON(w, http.StatusOK, viewOf(ret))
}

func (f *Function) receive(w http.ResponseWriter, r *http.Request) {
	f.advance(w, r, orderstore.ReturnChange{To: orderstore.ReturnReceived, At: f.now()})
}

type rejectRequest struct {
	Reason string `json:"reason"`
}

func (f *Function) reject(w http.ResponseWriter, r *http.Request) {
	var req rejectRequest
	if err := httpapi.Decode(w, r, &req); err != nil {
		f.fail(w, r, err)
		return
	}
	var v httpapi.Validator
	checkText(&v, "reason", req.Reason)
	if err := v.Err(); err != nil {
		f.fail(w, r, err)
		return
	}
	f.advance(w, r, orderstore.ReturnChange{To: orderstore.ReturnRejected, Reason: req.Reason, At: f.now()})
}

// advance applies an admin's change; a return not in REQUESTED is a 409,
// a repeat of the same change too (its effect happened once already).
func (f *Function) advance(w http.ResponseWriter, r *http.Request, c orderstore.ReturnChange) {
	a, err := f.store.AdvanceReturn(r.Context(), r.PathValue("id"), c, Name)
	if err != nil {
		f.fail(w, r, err)
		return
	}
	if a.Outcome != orderstore.Applied {
		f.fail(w, r, httpapi.Conflict(fmt.Sprintf("the return is %s; only a REQUESTED return can become %s", a.Return.Status, c.To)))
		return
	}
	httpapi.JSON(w, http.StatusAccepted, viewOf(a.Return))
}

// fail maps the returns domain's errors onto problems, in one place.
func (f *Function) fail(w http.ResponseWriter, r *http.Request, err error) {
	var re *orderstore.ReturnError
	var nr *orderstore.NotReturnableError
	switch {
	case errors.As(err, &re) && errors.Is(err, orderstore.ErrNotInOrder):
		err = httpapi.Invalid(httpapi.FieldError{Field: "items", Message: fmt.Sprintf("product %s is not in the order", re.ProductID)})
	case errors.As(err, &re):
		err = httpapi.Conflict(fmt.Sprintf("only %d unit(s) of product %s can still be returned", max(re.Left, 0), re.ProductID))
	case errors.As(err, &nr):
		err = httpapi.Conflict("the order cannot be returned: " + nr.Why)
	case errors.Is(err, orderstore.ErrNotFound):
		err = httpapi.NotFound("return")
	case errors.Is(err, orderstore.ErrIdempotencyMismatch):
		err = httpapi.Conflict("this Idempotency-Key was used with another request body")
	}
	httpapi.WriteError(w, r, fn.Logger(r.Context()), err)
}
