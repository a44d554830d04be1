package orders_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/knshop/knshop/functions/orders"
	"github.com/knshop/knshop/lib/auth"
	"github.com/knshop/knshop/lib/events"
	"github.com/knshop/knshop/lib/ids"
	"github.com/knshop/knshop/lib/money"
	"github.com/knshop/knshop/lib/orderstore"
	"github.com/knshop/knshop/lib/orderstore/orderstoretest"
	"github.com/knshop/knshop/lib/outbox"
	"github.com/knshop/knshop/lib/sink"
	"github.com/knshop/knshop/lib/storetest"
)

type env struct {
	orderstoretest.Signed
	db *orderstoretest.DB
}

func setup(t testing.TB, e storetest.Engine) *env {
	t.Helper()
	db := orderstoretest.New(t, e)
	return &env{Signed: db.ServeSigned(t, orders.Name, orders.New(), nil), db: db}
}

func order(t *testing.T, a storetest.Answer) orderstore.Order {
	t.Helper()
	return storetest.JSONOf[orderstore.Order](t, a)
}

// call sends a request as user with role ("" sends no token).
func (e *env) call(t *testing.T, method, path, user string, role auth.Role, body string, header ...string) storetest.Answer {
	t.Helper()
	return e.Keys.Call(t, method, e.URL+path, user, role, body, header...)
}

const addr = `"shippingAddress":{"line1":"1 Main St","city":"Springfield","postalCode":"12345","country":"US"}`

func body(items string) string {
	return fmt.Sprintf(`{"items":%s,%s,"paymentMethod":"pm_card_visa"}`, items, addr)
}

func TestPlaceOrder(t *testing.T) {
	storetest.OnEachMySQL(t, func(t *testing.T, eng storetest.Engine) {
		e := setup(t, eng)
		mug := e.db.Product(t, "Mug", money.New(1250, "USD"), 10)
		tea := e.db.Product(t, "Tea", money.New(300, "USD"), 10)
		gone := e.db.Product(t, "Gone", money.New(100, "USD"), 10)
		if _, err := e.db.Store.DeleteProduct(context.Background(), gone, 2, time.Now()); err != nil {
			t.Fatal(err)
		}
		empty := e.db.Product(t, "Empty", money.New(100, "USD"), 0)
		cust := ids.New()
		if _, err := e.db.Store.ApplyCustomer(context.Background(), orderstore.Customer{ID: cust, Email: "c@x.io", Name: "C",
			UpdatedAt: time.Now(), Addresses: []events.Address{{ID: "home", Line1: "2 Elm St", City: "Shelbyville", PostalCode: "9", Country: "US"}}}); err != nil {
			t.Fatal(err)
		}
		one := fmt.Sprintf(`[{"productId":%q,"quantity":2},{"productId":%q,"quantity":1}]`, mug, tea)

		cases := map[string]struct {
			role       auth.Role
			body       string
			wantStatus int
			wantField  string // a field the 400 names
			wantTotal  int64
		}{
			"priced from the read model": {role: auth.Customer, body: body(one), wantStatus: 202, wantTotal: 2800},
			"saved address by id": {role: auth.Customer, wantStatus: 202, wantTotal: 1250,
				body: fmt.Sprintf(`{"items":[{"productId":%q,"quantity":1}],"shippingAddressId":"home","paymentMethod":"pm_card_visa"}`, mug)},
			"no token":           {body: body(one), wantStatus: 401},
			"seller may not":     {role: auth.Seller, body: body(one), wantStatus: 403},
			"unknown product":    {role: auth.Customer, body: body(`[{"productId":"nope","quantity":1}]`), wantStatus: 400, wantField: "items"},
			"deleted product":    {role: auth.Customer, body: body(fmt.Sprintf(`[{"productId":%q,"quantity":1}]`, gone)), wantStatus: 400, wantField: "items"},
			"out of stock":       {role: auth.Customer, body: body(fmt.Sprintf(`[{"productId":%q,"quantity":1}]`, empty)), wantStatus: 400, wantField: "items"},
			"quantity zero":      {role: auth.Customer, body: body(fmt.Sprintf(`[{"productId":%q,"quantity":0}]`, mug)), wantStatus: 400, wantField: "items[0].quantity"},
			"negative quantity":  {role: auth.Customer, body: body(fmt.Sprintf(`[{"productId":%q,"quantity":-3}]`, mug)), wantStatus: 400, wantField: "items[0].quantity"},
			"empty item list":    {role: auth.Customer, body: body(`[]`), wantStatus: 400, wantField: "items"},
			"client sends price": {role: auth.Customer, body: body(fmt.Sprintf(`[{"productId":%q,"quantity":1,"unitPrice":{"amount":1,"currency":"USD"}}]`, mug)), wantStatus: 400, wantField: "items[0].unitPrice"},
			"no address": {role: auth.Customer, wantStatus: 400, wantField: "shippingAddress",
				body: fmt.Sprintf(`{"items":[{"productId":%q,"quantity":1}],"paymentMethod":"pm_card_visa"}`, mug)},
			"unknown address id": {role: auth.Customer, wantStatus: 400, wantField: "shippingAddressId",
				body: fmt.Sprintf(`{"items":[{"productId":%q,"quantity":1}],"shippingAddressId":"work","paymentMethod":"pm_card_visa"}`, mug)},
			"no payment method": {role: auth.Customer, wantStatus: 400, wantField: "paymentMethod",
				body: fmt.Sprintf(`{"items":[{"productId":%q,"quantity":1}],%s}`, mug, addr)},
			"operator for a string": {role: auth.Customer, wantStatus: 400, wantField: "paymentMethod",
				body: fmt.Sprintf(`{"items":[{"productId":%q,"quantity":1}],%s,"paymentMethod":{"$ne":null}}`, mug, addr)},
		}
		for name, tc := range cases {
			t.Run(name, func(t *testing.T) {
				before := len(e.Sink.Events())
				a := e.call(t, "POST", "/api/orders", cust, tc.role, tc.body)
				if a.Status != tc.wantStatus {
					t.Fatalf("status %d, want %d: %s", a.Status, tc.wantStatus, a.Body)
				}
				if tc.wantStatus != 202 {
					if tc.wantField != "" && !bytes.Contains(a.Body, []byte(`"field":"`+tc.wantField+`"`)) {
						t.Fatalf("problem does not name %s: %s", tc.wantField, a.Body)
					}
					if len(e.Sink.Events()) != before {
						t.Fatal("a refused order published an event")
					}
					return
				}
				o := order(t, a)
				if o.Status != orderstore.Pending || o.Total.Amount != tc.wantTotal || o.CustomerID != cust || a.Header.Get("Location") != "/api/orders/"+o.ID {
					t.Fatalf("order = %+v", o)
				}
				evs := e.Sink.WaitFor(t, before+1, 5*time.Second)
				var placed events.OrderPlacedData
				if err := events.Decode(evs[len(evs)-1], &placed); err != nil {
					t.Fatal(err)
				}
				if placed.OrderID != o.ID || placed.Total.Amount != tc.wantTotal || placed.PaymentMethod != "pm_card_visa" {
					t.Fatalf("ORDER_PLACED = %+v", placed)
				}
			})
		}

		t.Run("ordering the cart empties it", func(t *testing.T) {
			c := ids.New()
			if _, err := e.db.Store.SetCartItem(context.Background(), c, tea, 3, time.Now()); err != nil {
				t.Fatal(err)
			}
			a := e.call(t, "POST", "/api/orders", c, auth.Customer, fmt.Sprintf(`{%s,"paymentMethod":"pm_card_visa"}`, addr))
			if a.Status != 202 || order(t, a).Total.Amount != 900 {
				t.Fatalf("status %d: %s", a.Status, a.Body)
			}
			if cart, err := e.db.Store.Cart(context.Background(), c); err != nil || len(cart.Items) != 0 {
				t.Fatalf("cart = %+v, %v", cart, err)
			}
			again := e.call(t, "POST", "/api/orders", c, auth.Customer, fmt.Sprintf(`{%s,"paymentMethod":"pm_card_visa"}`, addr))
			if again.Status != 400 {
				t.Fatalf("ordering an empty cart: %d %s", again.Status, again.Body)
			}
		})
	})
}

func TestBrokerDownKeepsTheEvent(t *testing.T) {
	storetest.OnEachMySQL(t, func(t *testing.T, eng storetest.Engine) {
		e := setup(t, eng)
		mug := e.db.Product(t, "Mug", money.New(1250, "USD"), 10)
		cust := ids.New()
		e.Sink.FailWith(http.StatusServiceUnavailable)
		a := e.call(t, "POST", "/api/orders", cust, auth.Customer, body(fmt.Sprintf(`[{"productId":%q,"quantity":1}]`, mug)))
		e.Sink.FailWith(0)
		if a.Status != 202 {
			t.Fatalf("status %d: %s", a.Status, a.Body)
		}
		id := order(t, a).ID
		if n := len(e.Sink.Events()); n != 0 {
			t.Fatalf("%d events arrived while the broker was down", n)
		}
		relay := outbox.NewSQL(e.db.Store.DB(), sink.NewHTTP(e.Sink.URL()), slog.New(slog.NewTextHandler(io.Discard, nil)))
		for range 2 { // the second relay finds nothing left
			if _, err := relay.Relay(context.Background(), 10); err != nil {
				t.Fatal(err)
			}
		}
		evs := e.Sink.Events()
		if len(evs) != 1 || evs[0].ID() != ids.Derive(id, "ORDER_PLACED") || evs[0].Type() != string(events.OrderPlaced) {
			t.Fatalf("relayed %d events: %v", len(evs), evs)
		}
	})
}

func TestIdempotencyKey(t *testing.T) {
	storetest.OnEachMySQL(t, func(t *testing.T, eng storetest.Engine) {
		e := setup(t, eng)
		mug := e.db.Product(t, "Mug", money.New(1250, "USD"), 10)
		cust := ids.New()
		b1 := body(fmt.Sprintf(`[{"productId":%q,"quantity":1}]`, mug))
		b2 := body(fmt.Sprintf(`[{"productId":%q,"quantity":2}]`, mug))
		first := e.call(t, "POST", "/api/orders", cust, auth.Customer, b1, "Idempotency-Key", "k-1")
		if first.Status != 202 {
			t.Fatalf("first: %d %s", first.Status, first.Body)
		}
		id := order(t, first).ID
		cases := map[string]struct {
			user, key, body string
			wantStatus      int
			wantSame        bool
		}{
			"same key, same body":           {cust, "k-1", b1, 202, true},
			"same key, same body reordered": {cust, "k-1", strings.Replace(b1, `"paymentMethod":"pm_card_visa"`, `"paymentMethod": "pm_card_visa" `, 1), 202, true},
			"same key, other body":          {cust, "k-1", b2, 409, false},
			"other key":                     {cust, "k-2", b1, 202, false},
			"same key, other customer":      {ids.New(), "k-1", b1, 202, false},
		}
		for name, tc := range cases {
			t.Run(name, func(t *testing.T) {
				a := e.call(t, "POST", "/api/orders", tc.user, auth.Customer, tc.body, "Idempotency-Key", tc.key)
				if a.Status != tc.wantStatus {
					t.Fatalf("status %d, want %d: %s", a.Status, tc.wantStatus, a.Body)
				}
				if a.Status == 202 && (order(t, a).ID == id) != tc.wantSame {
					t.Fatalf("order %s, first was %s, want same=%t", order(t, a).ID, id, tc.wantSame)
				}
			})
		}

		t.Run("racing identical requests", func(t *testing.T) {
			c := ids.New()
			const n = 6
			got := make([]storetest.Answer, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					req, err := http.NewRequest("POST", e.URL+"/api/orders", strings.NewReader(b1))
					if err != nil {
						t.Error(err)
						return
					}
					req.Header.Set("Authorization", e.Keys.Bearer(t, c, auth.Customer))
					req.Header.Set("Idempotency-Key", "race")
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						t.Error(err)
						return
					}
					defer resp.Body.Close()
					b, err := io.ReadAll(resp.Body)
					if err != nil {
						t.Error(err)
					}
					got[i] = storetest.Answer{Status: resp.StatusCode, Body: b}
				}()
			}
			wg.Wait()
			ids := map[string]bool{}
			for _, a := range got {
				if a.Status != 202 {
					t.Fatalf("a racing request got %d: %s", a.Status, a.Body)
				}
				ids[order(t, a).ID] = true
			}
			list := e.call(t, "GET", "/api/orders", c, auth.Customer, "")
			if len(ids) != 1 || !bytes.Contains(list.Body, []byte(`"total":1`)) {
				t.Fatalf("racing requests made orders %v; list %s", ids, list.Body)
			}
		})
		placed := 0
		for _, ev := range e.Sink.Events() {
			if ev.Type() == string(events.OrderPlaced) {
				placed++
			}
		}
		if placed != 4 { // k-1, k-2, other customer, race
			t.Fatalf("%d ORDER_PLACED events, want 4", placed)
		}
	})
}

func TestReadAndCancel(t *testing.T) {
	storetest.OnEachMySQL(t, func(t *testing.T, eng storetest.Engine) {
		e := setup(t, eng)
		mug := e.db.Product(t, "Mug", money.New(1250, "USD"), 10)
		alice, bob, admin := ids.New(), ids.New(), ids.New()
		older := e.db.Order(t, alice, mug)
		time.Sleep(5 * time.Millisecond)
		newer := e.db.Order(t, alice, mug, orderstore.Reserved)
		bobs := e.db.Order(t, bob, mug)
		for range orderstore.StuckAfter {
			if _, err := e.db.Store.MarkRedriven(t.Context(), e.db.Get(t, bobs.ID), time.Now()); err != nil {
				t.Fatal(err)
			}
		}

		reads := map[string]struct {
			user       string
			role       auth.Role
			path       string
			wantStatus int
			wantIn     []string
			wantOut    []string
		}{
			"owner reads":               {alice, auth.Customer, "/api/orders/" + older.ID, 200, []string{older.ID, `"history":[{"status":"PENDING"`}, nil},
			"another customer's is 404": {bob, auth.Customer, "/api/orders/" + older.ID, 404, []string{"order not found"}, []string{"Mug"}},
			"unknown is 404":            {alice, auth.Customer, "/api/orders/" + ids.New(), 404, nil, nil},
			"admin reads any":           {admin, auth.Admin, "/api/orders/" + bobs.ID, 200, []string{bobs.ID}, nil},
			"no token":                  {alice, "", "/api/orders/" + older.ID, 401, nil, nil},
			"own list, newest first":    {alice, auth.Customer, "/api/orders", 200, []string{`"total":2`, `"items":[{"id":"` + newer.ID}, []string{bobs.ID}},
			"admin lists all":           {admin, auth.Admin, "/api/orders?limit=100", 200, []string{`"total":3`}, nil},
			"admin filters by customer": {admin, auth.Admin, "/api/orders?customerId=" + bob, 200, []string{`"total":1`, bobs.ID}, []string{older.ID}},
			"customer cannot filter":    {bob, auth.Customer, "/api/orders?customerId=" + alice, 200, []string{`"total":1`, bobs.ID}, []string{older.ID}},
			"page size":                 {alice, auth.Customer, "/api/orders?limit=1&page=2", 200, []string{`"total":2`, `"limit":1`, older.ID}, []string{newer.ID}},
			"bad limit":                 {alice, auth.Customer, "/api/orders?limit=101", 400, nil, nil},
			"admin lists stuck orders":  {admin, auth.Admin, "/api/orders?stuck=true", 200, []string{`"total":1`, bobs.ID}, []string{older.ID, newer.ID}},
			"stuck is for admins":       {alice, auth.Customer, "/api/orders?stuck=true", 403, nil, nil},
			"stuck must be true":        {admin, auth.Admin, "/api/orders?stuck=yes", 400, []string{`"field":"stuck"`}, nil},
		}
		for name, tc := range reads {
			t.Run(name, func(t *testing.T) {
				a := e.call(t, "GET", tc.path, tc.user, tc.role, "")
				if a.Status != tc.wantStatus {
					t.Fatalf("status %d, want %d: %s", a.Status, tc.wantStatus, a.Body)
				}
				for _, s := range tc.wantIn {
					if !bytes.Contains(a.Body, []byte(s)) {
						t.Fatalf("answer lacks %s: %s", s, a.Body)
					}
				}
				for _, s := range tc.wantOut {
					if bytes.Contains(a.Body, []byte(s)) {
						t.Fatalf("answer shows %s: %s", s, a.Body)
					}
				}
			})
		}

		cancels := map[string]struct {
			user       string
			role       auth.Role
			order      orderstore.Order
			wantStatus int
			wantEvent  bool
		}{
			"owner cancels a pending order": {alice, auth.Customer, e.db.Order(t, alice, mug), 202, true},
			"owner cancels a paid order":    {alice, auth.Customer, e.db.Order(t, alice, mug, orderstore.Paid), 202, true},
			"admin cancels":                 {admin, auth.Admin, e.db.Order(t, bob, mug), 202, true},
			"another customer's is 404":     {bob, auth.Customer, e.db.Order(t, alice, mug), 404, false},
			"shipping is 409":               {alice, auth.Customer, e.db.Order(t, alice, mug, orderstore.Paid, orderstore.Shipping), 409, false},
			"in transit is 409":             {alice, auth.Customer, e.db.Order(t, alice, mug, orderstore.Paid, orderstore.InTransit), 409, false},
			"already cancelled is 409":      {alice, auth.Customer, e.db.Order(t, alice, mug, orderstore.Cancelled), 409, false},
			"completed is 409":              {alice, auth.Customer, e.db.Order(t, alice, mug, orderstore.Paid, orderstore.Completed), 409, false},
			"no token":                      {alice, "", e.db.Order(t, alice, mug), 401, false},
		}
		for name, tc := range cancels {
			t.Run(name, func(t *testing.T) {
				before := len(e.Sink.Events())
				a := e.call(t, "POST", "/api/orders/"+tc.order.ID+"/cancel", tc.user, tc.role, "")
				if a.Status != tc.wantStatus {
					t.Fatalf("status %d, want %d: %s", a.Status, tc.wantStatus, a.Body)
				}
				after := e.db.Get(t, tc.order.ID)
				if !tc.wantEvent {
					if after.Status != tc.order.Status || len(e.Sink.Events()) != before {
						t.Fatalf("refused cancel changed the order to %s or published", after.Status)
					}
					return
				}
				if after.Status != orderstore.Cancelled || *after.CancelReason != events.ReasonCustomerRequest {
					t.Fatalf("order after cancel = %s %v", after.Status, after.CancelReason)
				}
				evs := e.Sink.WaitFor(t, before+1, 5*time.Second)
				var c events.OrderCancelledData
				if err := events.Decode(evs[len(evs)-1], &c); err != nil {
					t.Fatal(err)
				}
				if c.OrderID != tc.order.ID || c.Reason != events.ReasonCustomerRequest || evs[len(evs)-1].ID() != ids.Derive(tc.order.ID, "ORDER_CANCELLED") {
					t.Fatalf("ORDER_CANCELLED = %+v id %s", c, evs[len(evs)-1].ID())
				}
			})
		}
	})
}
