// Package cart is the HTTP function of /api/cart: every signed-in user's
// cart, priced from the orders side's product read model whenever it is
// read. POST /api/orders without items orders it.
package cart

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/knshop/knshop/lib/auth"
	"github.com/knshop/knshop/lib/fn"
	"github.com/knshop/knshop/lib/httpapi"
	"github.com/knshop/knshop/lib/money"
	"github.com/knshop/knshop/lib/orderstore"
	"github.com/knshop/knshop/lib/settings"
)

// Name is the function's name.
const Name = "cart"

// maxQuantity bounds one cart line.
const maxQuantity = money.MaxQuantity

// Cart is the cart HTTP function.
type Cart struct {
	*auth.Routes                   // built by Start; its Handle serves the function
	store        *orderstore.Store // the orders database, kept with fn.Use
	now          func() time.Time
}

// New returns the function, unstarted.
func New() *Cart { return &Cart{now: time.Now} }

// Start opens the orders database.
func (f *Cart) Start(ctx context.Context, cfg map[string]string) (err error) {
	s := settings.Of(cfg)
	ac := settings.Read(s, auth.ConfigFrom)
	if err := s.Err("cart: config"); err != nil {
		return err
	}
	f.store, err = orderstore.OpenFrom(ctx, cfg)
	if err := fn.Use(ctx, f.store, err); err != nil {
		return fmt.Errorf("cart: start: %w", err)
	}
	f.Routes = auth.NewRoutes(ac)
	f.SignedIn("GET /api/cart", f.get)
	f.SignedIn("DELETE /api/cart", f.clear)
	f.SignedIn("PUT /api/cart/items/{productId}", f.put)
	f.SignedIn("DELETE /api/cart/items/{productId}", f.remove)
	return nil
}

func user(r *http.Request) string {
	c, _ := auth.FromContext(r.Context())
	return c.UserID
}

func (f *Cart) get(w http.ResponseWriter, r *http.Request) {
	c, err := f.store.Cart(r.Context(), user(r))
	f.answer(w, r, http.StatusOK, c, err)
}

type putRequest struct {
	Quantity *int64 `json:"quantity"`
}

func (f *Cart) put(w http.ResponseWriter, r *http.Request) {
	var req putRequest
	if err := httpapi.Decode(w, r, &req); err != nil {
		f.answer(w, r, 0, nil, err)
		return
	}
	var v httpapi.Validator
	v.Check(req.Quantity != nil, "quantity", "is required")
	v.Check(req.Quantity == nil || (*req.Quantity >= 0 && *req.Quantity <= maxQuantity), "quantity",
		fmt.Sprintf("must be from 0 (remove) to %d", maxQuantity))
	if err := v.Err(); err != nil {
		f.answer(w, r, 0, nil, err)
		return
	}
	c, err := f.store.SetCartItem(r.Context(), user(r), r.PathValue("productId"), *req.Quantity, f.now())
	if errors.Is(err, orderstore.ErrTotalOverLimit) {
		err = httpapi.Invalid(httpapi.FieldError{Field: "quantity", Message: fmt.Sprintf("the cart total would be over %d minor units", money.MaxTotal)})
	}
	f.answer(w, r, http.StatusOK, c, err)
}

func (f *Cart) remove(w http.ResponseWriter, r *http.Request) {
	c, err := f.store.RemoveCartItem(r.Context(), user(r), r.PathValue("productId"))
	f.answer(w, r, http.StatusOK, c, err)
}

func (f *Cart) clear(w http.ResponseWriter, r *http.Request) {
	if err := f.store.ClearCart(r.Context(), user(r)); err != nil {
		f.answer(w, r, 0, nil, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// answer writes v with status, or maps err onto a problem (in one place).
func (f *Cart) answer(w http.ResponseWriter, r *http.Request, status int, v any, err error) {
	var pe *orderstore.ProductError
	switch {
	case err == nil:
		httpapi.JSON(w, status, v)
		return
	case errors.As(err, &pe):
		err = httpapi.Invalid(httpapi.FieldError{Field: "productId", Message: fmt.Sprintf("product %s is %s", pe.ProductID, pe.Reason)})
	case errors.Is(err, orderstore.ErrMixedCurrency):
		err = httpapi.Conflict("the cart holds products priced in different currencies")
	case errors.Is(err, orderstore.ErrTotalOverLimit):
		err = httpapi.Conflict(fmt.Sprintf("the cart total is over %d minor units (a price rose); lower a quantity", money.MaxTotal))
	}
	httpapi.WriteError(w, r, fn.Logger(r.Context()), err)
}
