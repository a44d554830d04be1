// Package orderstoretest sets up the orders database for the tests of the
// functions that share it: a fresh database on a MySQL engine, the cfg that
// points a function at it, a function started on it, and helpers to seed
// the read models and build events.
package orderstoretest

import (
	"context"
	"maps"
	"net/http"
	"testing"
	"time"

	"github.com/knshop/knshop/lib/auth/authtest"
	"github.com/knshop/knshop/lib/events"
	"github.com/knshop/knshop/lib/events/eventstest"
	"github.com/knshop/knshop/lib/fn"
	"github.com/knshop/knshop/lib/ids"
	"github.com/knshop/knshop/lib/money"
	"github.com/knshop/knshop/lib/orderstore"
	"github.com/knshop/knshop/lib/storetest"
)

// DB is a fresh orders database.
type DB struct {
	Store *orderstore.Store
	// Env points a function at the database (merge it into its cfg).
	Env map[string]string
}

// New creates a fresh orders database on engine e.
func New(t testing.TB, e storetest.Engine) *DB {
	t.Helper()
	c := e.Config(t, orderstore.Database)
	s, err := orderstore.Open(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	return &DB{Store: s, Env: c.Env(orderstore.Database)}
}

// Start starts function f on the database (its cfg is Env with the
// entries of extra added) with storetest.StartFunction: f stops when the
// test ends, and the handler returned is what the Broker delivers to.
func (d *DB) Start(t testing.TB, f fn.Starter, extra map[string]string) http.Handler {
	t.Helper()
	return storetest.StartFunction(t, f, d.cfg(extra))
}

// Serve runs HTTP function f as name on the database (its cfg is Env with
// the entries of extra added) with storetest.ServeFunction, and returns
// the URL it is served at until the test ends.
func (d *DB) Serve(t testing.TB, name string, f fn.HTTPFunction, extra map[string]string) string {
	t.Helper()
	return storetest.ServeFunction(t, name, f, d.cfg(extra))
}

// Started is a reaction of the orders database started on a fresh one.
type Started struct {
	*DB
	// F is the reaction: a test calls its Handle to read a reply as it is.
	F *fn.Reaction[*orderstore.Store]
	// H is the handler the Broker delivers events to.
	H http.Handler
}

// OnEach runs test on each MySQL engine (storetest.OnEachMySQL) with the
// reaction newF makes started (Start) on a fresh orders database.
func OnEach(t *testing.T, newF func() *fn.Reaction[*orderstore.Store], test func(t *testing.T, s Started)) {
	t.Helper()
	storetest.OnEachMySQL(t, func(t *testing.T, e storetest.Engine) {
		db := New(t, e)
		f := newF()
		test(t, Started{DB: db, F: f, H: db.Start(t, f, nil)})
	})
}

// Signed is an HTTP function served on the database with fresh JWT keys
// (sign its callers' tokens with Keys) and an event recorder as its
// K_SINK.
type Signed struct {
	URL  string
	Keys *authtest.Keys
	Sink *storetest.EventRecorder
}

// ServeSigned serves f as name on the database (Serve), with fresh keys,
// a recorder as K_SINK, and the entries of extra.
func (d *DB) ServeSigned(t testing.TB, name string, f fn.HTTPFunction, extra map[string]string) Signed {
	t.Helper()
	s := Signed{Keys: authtest.New(t), Sink: storetest.NewEventRecorder(t)}
	cfg := map[string]string{"K_SINK": s.Sink.URL()}
	maps.Copy(cfg, s.Keys.Env)
	maps.Copy(cfg, extra)
	s.URL = d.Serve(t, name, f, cfg)
	return s
}

func (d *DB) cfg(extra map[string]string) map[string]string {
	cfg := maps.Clone(d.Env)
	maps.Copy(cfg, extra)
	return cfg
}

// Product adds a product to the read model and returns its id.
func (d *DB) Product(t testing.TB, name string, price money.Money, stock int64) string {
	t.Helper()
	id := ids.New()
	p := orderstore.Product{ID: id, Name: name, Price: price, Stock: stock, Version: 1, UpdatedAt: time.Now().UTC()}
	if _, err := d.Store.ApplyProduct(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	return id
}

// Address is a valid shipping address.
var Address = events.Address{Line1: "1 Main St", City: "Springfield", PostalCode: "12345", Country: "US"}

// Order places an order of one unit of productID for customer and moves it
// along path; it returns the order as it then is.
func (d *DB) Order(t testing.TB, customer, productID string, path ...orderstore.Status) orderstore.Order {
	t.Helper()
	return d.OrderOf(t, customer, []events.Item{{ProductID: productID, Quantity: 1}}, path...)
}

// OrderOf places an order of items for customer and moves it along path.
func (d *DB) OrderOf(t testing.TB, customer string, items []events.Item, path ...orderstore.Status) orderstore.Order {
	t.Helper()
	ctx := context.Background()
	p, err := d.Store.Place(ctx, orderstore.PlaceRequest{
		OrderID: ids.New(), CustomerID: customer, Items: items,
		ShippingAddress: Address, PaymentMethod: "pm_card_visa", At: time.Now(),
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	o := p.Order
	for _, s := range path {
		a, err := d.Store.Advance(ctx, o.ID, orderstore.Change{To: s, Reason: events.ReasonCustomerRequest, At: time.Now()}, nil)
		if err != nil || a.Outcome != orderstore.Applied {
			t.Fatalf("orderstoretest: move %s to %s: %v %v", o.ID, s, a.Outcome, err)
		}
		o = a.Order
	}
	return o
}

// Completed is the path of an order from PENDING to COMPLETED.
var Completed = []orderstore.Status{orderstore.Reserved, orderstore.Paid, orderstore.Shipping, orderstore.InTransit, orderstore.Completed}

// Get reads an order.
func (d *DB) Get(t testing.TB, id string) orderstore.Order {
	t.Helper()
	o, err := d.Store.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// RefusesForGood checks what an order step function h, started on d, must
// refuse for good (400: the Broker does not retry what a retry cannot
// change): an event about an order that does not exist (about builds the
// event the function takes for an order), and an event type it does not
// take.
func (d *DB) RefusesForGood(t *testing.T, h http.Handler, about func(orderstore.Order) events.Data) {
	t.Helper()
	t.Run("unknown order is 400", func(t *testing.T) {
		o := d.Order(t, ids.New(), d.Product(t, "Mug", money.New(100, "USD"), 5))
		o.ID = ids.New()
		if code, _ := storetest.Deliver(t, h, eventstest.Build(t, about(o))); code != http.StatusBadRequest {
			t.Fatalf("status %d", code)
		}
	})
	t.Run("an event it does not take is 400", func(t *testing.T) {
		other := eventstest.Build(t, events.UserDeletedData{UserID: ids.New(), DeletedAt: time.Now()})
		if code, _ := storetest.Deliver(t, h, other); code != http.StatusBadRequest {
			t.Fatalf("status %d", code)
		}
	})
}
