package returns_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/knshop/knshop/functions/returns"
	"github.com/knshop/knshop/lib/auth"
	"github.com/knshop/knshop/lib/events"
	"github.com/knshop/knshop/lib/ids"
	"github.com/knshop/knshop/lib/money"
	"github.com/knshop/knshop/lib/orderstore"
	"github.com/knshop/knshop/lib/orderstore/orderstoretest"
	"github.com/knshop/knshop/lib/storetest"
)

type env struct {
	orderstoretest.Signed
	db *orderstoretest.DB
}

func setup(t *testing.T, e storetest.Engine, extra map[string]string) *env {
	t.Helper()
	db := orderstoretest.New(t, e)
	return &env{Signed: db.ServeSigned(t, returns.Name, returns.New(), extra), db: db}
}

// view is the part of a return the tests read.
type view struct {
	ID           string                  `json:"id"`
	OrderID      string                  `json:"orderId"`
	Status       orderstore.ReturnStatus `json:"status"`
	Amount       money.Money             `json:"amount"`
	RejectReason *string                 `json:"rejectReason"`
	Items        []struct {
		ProductID string      `json:"productId"`
		Quantity  int64       `json:"quantity"`
		UnitPrice money.Money `json:"unitPrice"`
	} `json:"items"`
	History []struct {
		Status orderstore.ReturnStatus `json:"status"`
	} `json:"history"`
}

func ret(t *testing.T, a storetest.Answer) view {
	t.Helper()
	return storetest.JSONOf[view](t, a)
}

// call sends a request as user with role ("" sends no token).
func (e *env) call(t *testing.T, method, path, user string, role auth.Role, body string, header ...string) storetest.Answer {
	t.Helper()
	return e.Keys.Call(t, method, e.URL+path, user, role, body, header...)
}

func (e *env) must(t *testing.T, want int, a storetest.Answer) storetest.Answer {
	t.Helper()
	return a.Must(t, want)
}

func returnBody(product string, qty int64) string {
	return fmt.Sprintf(`{"items":[{"productId":%q,"quantity":%d}],"reason":"too small"}`, product, qty)
}

// shop is a completed order of 3 mugs (12.50) and 1 teapot (40.00).
type shop struct {
	customer, mug, teapot string
	order                 orderstore.Order
}

func (e *env) completed(t *testing.T) shop {
	t.Helper()
	s := shop{customer: ids.New()}
	s.mug = e.db.Product(t, "Mug", money.New(1250, "USD"), 10)
	s.teapot = e.db.Product(t, "Teapot", money.New(4000, "USD"), 10)
	s.order = e.db.OrderOf(t, s.customer, []events.Item{{ProductID: s.mug, Quantity: 3}, {ProductID: s.teapot, Quantity: 1}},
		orderstoretest.Completed...)
	return s
}

func TestReturnLifecycle(t *testing.T) {
	storetest.OnEachMySQL(t, func(t *testing.T, eng storetest.Engine) {
		e := setup(t, eng, nil)
		s := e.completed(t)
		admin := ids.New()
		path := "/api/orders/" + s.order.ID + "/returns"

		r := ret(t, e.must(t, 202, e.call(t, "POST", path, s.customer, auth.Customer, returnBody(s.mug, 2))))
		if r.Status != orderstore.ReturnRequested || r.Amount != money.New(2500, "USD") || r.OrderID != s.order.ID ||
			len(r.Items) != 1 || r.Items[0].UnitPrice != money.New(1250, "USD") {
			t.Fatalf("return = %+v", r)
		}
		got := e.Sink.WaitFor(t, 1, 5*time.Second)
		var req events.ReturnRequestedData
		if err := events.Decode(got[0], &req); err != nil || req.ReturnID != r.ID || req.Amount.Amount != 2500 {
			t.Fatalf("RETURN_REQUESTED = %+v, %v", req, err)
		}

		// Reads: the owner and an admin; anyone else is told nothing.
		e.must(t, 200, e.call(t, "GET", "/api/returns/"+r.ID, s.customer, auth.Customer, ""))
		e.must(t, 200, e.call(t, "GET", "/api/returns/"+r.ID, admin, auth.Admin, ""))
		e.must(t, 404, e.call(t, "GET", "/api/returns/"+r.ID, ids.New(), auth.Customer, ""))
		var list struct {
			Items []view `json:"items"`
			Total int    `json:"total"`
		}
		a := e.must(t, 200, e.call(t, "GET", "/api/returns?orderId="+s.order.ID, s.customer, auth.Customer, ""))
		if err := json.Unmarshal(a.Body, &list); err != nil || list.Total != 1 || list.Items[0].ID != r.ID {
			t.Fatalf("list = %s", a.Body)
		}
		a = e.must(t, 200, e.call(t, "GET", "/api/returns?orderId="+s.order.ID, ids.New(), auth.Customer, ""))
		if err := json.Unmarshal(a.Body, &list); err != nil || list.Total != 0 {
			t.Fatalf("a stranger's list = %s", a.Body)
		}

		// Only an admin receives; once.
		e.must(t, 403, e.call(t, "POST", "/api/returns/"+r.ID+"/receive", s.customer, auth.Customer, ""))
		r = ret(t, e.must(t, 202, e.call(t, "POST", "/api/returns/"+r.ID+"/receive", admin, auth.Admin, "")))
		if r.Status != orderstore.ReturnReceived || len(r.History) != 2 {
			t.Fatalf("received = %+v", r)
		}
		e.must(t, 409, e.call(t, "POST", "/api/returns/"+r.ID+"/receive", admin, auth.Admin, ""))
		e.must(t, 409, e.call(t, "POST", "/api/returns/"+r.ID+"/reject", admin, auth.Admin, `{"reason":"late"}`))
		got = e.Sink.WaitFor(t, 2, 5*time.Second)
		var rec events.ReturnReceivedData
		if err := events.Decode(got[1], &rec); err != nil || rec.ReturnID != r.ID || rec.Items[0].Quantity != 2 || rec.Amount.Amount != 2500 {
			t.Fatalf("RETURN_RECEIVED = %+v, %v", rec, err)
		}

		// The refund completes it (complete-return's change).
		adv, err := e.db.Store.AdvanceReturn(t.Context(), r.ID, orderstore.ReturnChange{To: orderstore.ReturnRefunded, RefundID: "re_1", At: time.Now()}, "complete-return")
		if err != nil || adv.Outcome != orderstore.Applied {
			t.Fatalf("refunded: %v %v", adv.Outcome, err)
		}
		a = e.must(t, 200, e.call(t, "GET", "/api/returns/"+r.ID, s.customer, auth.Customer, ""))
		if !strings.Contains(string(a.Body), `"refund":{"id":"re_1","status":"SUCCEEDED"}`) {
			t.Fatalf("refunded return = %s", a.Body)
		}
		if n := len(e.Sink.Events()); n != 2 {
			t.Fatalf("%d events, want 2 (REFUNDED announces nothing)", n)
		}
	})
}

func TestReturnRules(t *testing.T) {
	storetest.OnEachMySQL(t, func(t *testing.T, eng storetest.Engine) {
		e := setup(t, eng, nil)
		s := e.completed(t)
		admin := ids.New()
		path := "/api/orders/" + s.order.ID + "/returns"

		// Only a COMPLETED order, only the owner's.
		paid := e.db.Order(t, s.customer, s.mug, orderstore.Reserved, orderstore.Paid)
		e.must(t, 409, e.call(t, "POST", "/api/orders/"+paid.ID+"/returns", s.customer, auth.Customer, returnBody(s.mug, 1)))
		e.must(t, 404, e.call(t, "POST", path, ids.New(), auth.Customer, returnBody(s.mug, 1)))
		e.must(t, 404, e.call(t, "POST", "/api/orders/"+ids.New()+"/returns", s.customer, auth.Customer, returnBody(s.mug, 1)))

		// Units: not more than delivered, less what other returns hold.
		e.must(t, 409, e.call(t, "POST", path, s.customer, auth.Customer, returnBody(s.mug, 4)))
		e.must(t, 400, e.call(t, "POST", path, s.customer, auth.Customer, returnBody(ids.New(), 1)))
		first := ret(t, e.must(t, 202, e.call(t, "POST", path, s.customer, auth.Customer, returnBody(s.mug, 2))))
		e.must(t, 409, e.call(t, "POST", path, s.customer, auth.Customer, returnBody(s.mug, 2)))
		e.must(t, 202, e.call(t, "POST", path, s.customer, auth.Customer, returnBody(s.mug, 1)))
		e.must(t, 409, e.call(t, "POST", path, s.customer, auth.Customer, returnBody(s.mug, 1)))
		// A rejected return gives its units back to what may be returned.
		rej := ret(t, e.must(t, 202, e.call(t, "POST", "/api/returns/"+first.ID+"/reject", admin, auth.Admin, `{"reason":"worn"}`)))
		if rej.Status != orderstore.ReturnRejected || rej.RejectReason == nil || *rej.RejectReason != "worn" {
			t.Fatalf("rejected = %+v", rej)
		}
		e.must(t, 409, e.call(t, "POST", "/api/returns/"+first.ID+"/receive", admin, auth.Admin, ""))
		e.must(t, 202, e.call(t, "POST", path, s.customer, auth.Customer, returnBody(s.mug, 2)))

		// Bad bodies change nothing.
		before := e.Sink.Events()
		for name, body := range map[string]string{
			"no items":       `{"items":[],"reason":"x"}`,
			"zero units":     fmt.Sprintf(`{"items":[{"productId":%q,"quantity":0}],"reason":"x"}`, s.teapot),
			"no reason":      fmt.Sprintf(`{"items":[{"productId":%q,"quantity":1}],"reason":" "}`, s.teapot),
			"twice":          fmt.Sprintf(`{"items":[{"productId":%q,"quantity":1},{"productId":%q,"quantity":1}],"reason":"x"}`, s.teapot, s.teapot),
			"unknown field":  fmt.Sprintf(`{"items":[{"productId":%q,"quantity":1}],"reason":"x","refund":1}`, s.teapot),
			"operator":       `{"items":[{"productId":{"$ne":null},"quantity":1}],"reason":"x"}`,
			"long reason":    fmt.Sprintf(`{"items":[{"productId":%q,"quantity":1}],"reason":%q}`, s.teapot, strings.Repeat("é", 2001)),
			"fractional qty": fmt.Sprintf(`{"items":[{"productId":%q,"quantity":1.5}],"reason":"x"}`, s.teapot),
		} {
			if a := e.call(t, "POST", path, s.customer, auth.Customer, body); a.Status != 400 {
				t.Errorf("%s: status %d, want 400: %s", name, a.Status, a.Body)
			}
		}
		e.must(t, 400, e.call(t, "POST", "/api/returns/"+first.ID+"/reject", admin, auth.Admin, `{"reason":""}`))
		if n := len(e.Sink.Events()); n != len(before) {
			t.Fatalf("bad requests published %d events", n-len(before))
		}
		e.must(t, 401, e.call(t, "POST", path, "", "", returnBody(s.teapot, 1)))
	})
}

func TestReturnWindowCloses(t *testing.T) {
	e := setup(t, storetest.MySQLEngines(t)[0], map[string]string{"RETURN_WINDOW": "50ms"})
	s := e.completed(t)
	time.Sleep(100 * time.Millisecond)
	a := e.must(t, 409, e.call(t, "POST", "/api/orders/"+s.order.ID+"/returns", s.customer, auth.Customer, returnBody(s.mug, 1)))
	if !strings.Contains(string(a.Body), "window") {
		t.Fatalf("problem = %s", a.Body)
	}
}

// Two customers' devices return the same units at once: exactly one return
// is accepted, whatever the interleaving.
func TestConcurrentReturnsOfTheSameUnits(t *testing.T) {
	storetest.OnEachMySQL(t, func(t *testing.T, eng storetest.Engine) {
		e := setup(t, eng, nil)
		for range 3 {
			s := e.completed(t)
			path := "/api/orders/" + s.order.ID + "/returns"
			codes := storetest.AtOnce(8, func(int) int {
				return e.call(t, "POST", path, s.customer, auth.Customer, returnBody(s.mug, 3)).Status
			})
			accepted := storetest.Tally(t, codes, 202, 409)
			if accepted != 1 {
				t.Fatalf("%d returns of the same 3 units accepted, want 1 (codes %v)", accepted, codes)
			}
		}
	})
}

func TestReturnIdempotencyKey(t *testing.T) {
	storetest.OnEachMySQL(t, func(t *testing.T, eng storetest.Engine) {
		e := setup(t, eng, nil)
		s := e.completed(t)
		path := "/api/orders/" + s.order.ID + "/returns"
		a := ret(t, e.must(t, 202, e.call(t, "POST", path, s.customer, auth.Customer, returnBody(s.mug, 3), "Idempotency-Key", "k1")))
		b := ret(t, e.must(t, 202, e.call(t, "POST", path, s.customer, auth.Customer, returnBody(s.mug, 3), "Idempotency-Key", "k1")))
		if a.ID != b.ID {
			t.Fatalf("a repeat made another return: %s, %s", a.ID, b.ID)
		}
		e.must(t, 409, e.call(t, "POST", path, s.customer, auth.Customer, returnBody(s.mug, 2), "Idempotency-Key", "k1"))
		list, total, err := e.db.Store.ListReturns(t.Context(), orderstore.ReturnQuery{OrderID: s.order.ID, Limit: 10})
		if err != nil || total != 1 || len(list) != 1 {
			t.Fatalf("returns = %d (%v)", total, err)
		}
	})
}
