// Package orders is the HTTP function of /api/orders: customers place
// orders (priced from the orders side's product read model), list and read
// them, and cancel them before they ship. Placing and cancelling write the
// change and its event (ORDER_PLACED, ORDER_CANCELLED) in one transaction
// and publish the event after the commit.
package orders

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/knshop/knshop/lib/auth"
	"github.com/knshop/knshop/lib/events"
	"github.com/knshop/knshop/lib/fn"
	"github.com/knshop/knshop/lib/httpapi"
	"github.com/knshop/knshop/lib/money"
	"github.com/knshop/knshop/lib/orderstore"
	"github.com/knshop/knshop/lib/settings"
)

// Name is the function's name, and the source of its events.
const Name = "orders"

// Orders is the orders HTTP function.
type Orders struct {
	*auth.Routes                   // built by Start; its Handle serves the function
	store        *orderstore.Store // the orders database, kept with fn.Use
	deadlines    orderstore.Deadlines
	now          func() time.Time
}

// New returns the function, unstarted.
func New() *Orders { return &Orders{now: time.Now} }

// Start opens the orders database and the outbox towards K_SINK.
func (f *Orders) Start(ctx context.Context, cfg map[string]string) (err error) {
	s := settings.Of(cfg)
	ac := settings.Read(s, auth.ConfigFrom)
	f.deadlines = settings.Read(s, orderstore.DeadlinesFrom)
	if err := s.Err("orders: config"); err != nil {
		return err
	}
	f.store, err = orderstore.OpenPublishing(ctx, cfg)
	if err := fn.Use(ctx, f.store, err); err != nil {
		return fmt.Errorf("orders: start: %w", err)
	}

	f.Routes = auth.NewRoutes(ac)
	f.SignedIn("POST /api/orders", f.place, auth.Customer)
	f.SignedIn("GET /api/orders", f.list)
	f.SignedIn("GET /api/orders/{id}", f.get)
	f.SignedIn("POST /api/orders/{id}/cancel", f.cancel)
	return nil
}

func (f *Orders) list(w http.ResponseWriter, r *http.Request) {
	c, _ := auth.FromContext(r.Context())
	page, err := httpapi.ParsePage(r)
	if err != nil {
		f.fail(w, r, err)
		return
	}
	if stuck := r.URL.Query().Get("stuck"); stuck != "" {
		f.listStuck(w, r, c, stuck, page)
		return
	}
	q := orderstore.ListQuery{CustomerID: c.UserID, Offset: page.Offset(), Limit: page.Limit}
	if c.Role == auth.Admin {
		q.CustomerID = r.URL.Query().Get("customerId")
	}
	list, total, err := f.store.List(r.Context(), q)
	if err != nil {
		f.fail(w, r, err)
		return
	}
	httpapi.WriteList(w, list, viewOf, page, total)
}

func (f *Orders) get(w http.ResponseWriter, r *http.Request) {
	o, err := f.visible(r)
	if err != nil {
		f.fail(w, r, err)
		return
	}
	httpapi.JSON(w, http.StatusOK, viewOf(o))
}

// visible returns the order of the path if the caller may see it: its
// owner or an admin. Anyone else gets ErrNotFound, as for a missing order.
func (f *Orders) visible(r *http.Request) (orderstore.Order, error) {
	c, _ := auth.FromContext(r.Context())
	o, err := f.store.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		return orderstore.Order{}, err
	}
	if o.CustomerID != c.UserID && c.Role != auth.Admin {
		return orderstore.Order{}, orderstore.ErrNotFound
	}
	return o, nil
}

func (f *Orders) cancel(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	o, err := f.visible(r)
	if err != nil {
		f.fail(w, r, err)
		return
	}
	change := orderstore.Change{To: orderstore.Cancelled, Reason: events.ReasonCustomerRequest, At: f.now()}
	a, err := f.store.Advance(ctx, o.ID, change, orderstore.AnnounceCancelled(ctx, Name))
	if err != nil {
		f.fail(w, r, err)
		return
	}
	switch a.Outcome {
	case orderstore.AlreadyThere:
		f.fail(w, r, httpapi.Conflict("the order is already cancelled"))
		return
	case orderstore.Refused:
		f.fail(w, r, httpapi.Conflict(fmt.Sprintf("an order in %s can no longer be cancelled", a.Order.Status)))
		return
	}
	httpapi.JSON(w, http.StatusAccepted, viewOf(a.Order))
}

// fail maps the orders domain's errors onto problems, in one place.
func (f *Orders) fail(w http.ResponseWriter, r *http.Request, err error) {
	var pe *orderstore.ProductError
	switch {
	case errors.As(err, &pe):
		err = httpapi.Invalid(httpapi.FieldError{Field: "items", Message: fmt.Sprintf("product %s is %s", pe.ProductID, pe.Reason)})
	case errors.Is(err, orderstore.ErrNotFound):
		err = httpapi.NotFound("order")
	case errors.Is(err, orderstore.ErrEmptyCart):
		err = httpapi.Invalid(httpapi.FieldError{Field: "items", Message: "no items given and the cart is empty"})
	case errors.Is(err, orderstore.ErrMixedCurrency):
		err = httpapi.Invalid(httpapi.FieldError{Field: "items", Message: "all items must be priced in one currency"})
	case errors.Is(err, orderstore.ErrTotalOverLimit):
		err = httpapi.Invalid(httpapi.FieldError{Field: "items", Message: fmt.Sprintf("the order total must be at most %d minor units", money.MaxTotal)})
	case errors.Is(err, orderstore.ErrIdempotencyMismatch):
		err = httpapi.Conflict("this Idempotency-Key was used with another request body")
	case errors.Is(err, orderstore.ErrConcurrentChange):
		err = httpapi.Conflict("the order changed meanwhile; try again")
	}
	httpapi.WriteError(w, r, fn.Logger(r.Context()), err)
}

// listStuck answers an admin's ?stuck=true: the orders reconcile-orders has
// driven again orderstore.StuckAfter times without a move, oldest first
// (one page: at most limit of them).
func (f *Orders) listStuck(w http.ResponseWriter, r *http.Request, c auth.Claims, stuck string, page httpapi.Page) {
	var v httpapi.Validator
	v.Check(stuck == "true", "stuck", "must be true (or left out)")
	v.Check(page.Page == 1, "page", "the stuck orders are one page")
	if err := v.Err(); err != nil {
		f.fail(w, r, err)
		return
	}
	if c.Role != auth.Admin {
		f.fail(w, r, httpapi.Forbidden("only an admin lists stuck orders"))
		return
	}
	list, err := f.store.Stuck(r.Context(), orderstore.StuckAfter, page.Limit)
	if err != nil {
		f.fail(w, r, err)
		return
	}
	httpapi.WriteList(w, list, viewOf, page, len(list))
}
