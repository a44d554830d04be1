package reviews_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/knshop/knshop/lib/events/eventstest"

	recordpurchase "github.com/knshop/knshop/functions/record-purchase"
	"github.com/knshop/knshop/functions/reviews"
	"github.com/knshop/knshop/lib/auth"
	"github.com/knshop/knshop/lib/auth/authtest"
	"github.com/knshop/knshop/lib/catalog/catalogtest"
	"github.com/knshop/knshop/lib/events"
	"github.com/knshop/knshop/lib/ids"
	"github.com/knshop/knshop/lib/storetest"
)

type env struct {
	url      string
	keys     *authtest.Keys
	sink     *storetest.EventRecorder
	db       *catalogtest.DB
	purchase http.Handler
}

func setup(t *testing.T) *env {
	t.Helper()
	db := catalogtest.New(t)
	keys := authtest.New(t)
	sink := storetest.NewEventRecorder(t)
	cfg := map[string]string{"K_SINK": sink.URL()}
	maps.Copy(cfg, keys.Env)
	maps.Copy(cfg, db.Env)
	return &env{url: storetest.ServeFunction(t, reviews.Name, reviews.New(), cfg), keys: keys, sink: sink, db: db,
		purchase: db.Start(t, recordpurchase.New(), nil)}
}

// call sends a request as user with role ("" sends no token).
func (e *env) call(t *testing.T, method, path, user string, role auth.Role, body string) storetest.Answer {
	t.Helper()
	return e.keys.Call(t, method, e.url+path, user, role, body)
}

func (e *env) must(t *testing.T, want int, a storetest.Answer) storetest.Answer {
	t.Helper()
	return a.Must(t, want)
}

// bought delivers the ORDER_COMPLETED record-purchase learns buyers from.
func (e *env) bought(t *testing.T, customer, name string, products ...string) {
	t.Helper()
	items := make([]events.Item, len(products))
	for i, p := range products {
		items[i] = events.Item{ProductID: p, Quantity: 1}
	}
	ev := eventstest.Build(t, events.OrderCompletedData{OrderID: ids.New(), CustomerID: customer,
		CustomerName: name, Items: items, CompletedAt: time.Now().UTC()})
	for range 2 { // a duplicate changes nothing
		if code, _ := storetest.Deliver(t, e.purchase, ev); code != 204 {
			t.Fatalf("record-purchase: %d", code)
		}
	}
}

type review struct {
	ID         string `json:"id"`
	AuthorName string `json:"authorName"`
	Rating     int64  `json:"rating"`
	Title      string `json:"title"`
}

func reviewOf(t *testing.T, a storetest.Answer) review {
	t.Helper()
	return storetest.JSONOf[review](t, a)
}

func (e *env) list(t *testing.T, product, query string) []review {
	t.Helper()
	var l struct {
		Items []review `json:"items"`
		Total int      `json:"total"`
	}
	a := e.must(t, 200, e.call(t, "GET", "/api/products/"+product+"/reviews"+query, "", "", ""))
	if err := json.Unmarshal(a.Body, &l); err != nil || l.Total != len(l.Items) {
		t.Fatalf("list %s: %v", a.Body, err)
	}
	return l.Items
}

func TestOnlyBuyersReviewOnce(t *testing.T) {
	e := setup(t)
	mug := catalogtest.AddProduct(t, e.db.Store, 5)
	ann, bob, admin := ids.New(), ids.New(), ids.New()
	e.bought(t, ann, "Ann", mug)
	path := "/api/products/" + mug + "/reviews"

	e.must(t, 403, e.call(t, "POST", path, bob, auth.Customer, `{"rating":5}`))
	e.must(t, 401, e.call(t, "POST", path, "", "", `{"rating":5}`))
	e.must(t, 404, e.call(t, "POST", "/api/products/"+ids.New()+"/reviews", ann, auth.Customer, `{"rating":5}`))
	for name, body := range map[string]string{
		"zero":        `{"rating":0}`,
		"six":         `{"rating":6}`,
		"fraction":    `{"rating":4.5}`,
		"string":      `{"rating":"5"}`,
		"long title":  fmt.Sprintf(`{"rating":5,"title":%q}`, strings.Repeat("t", 201)),
		"long body":   fmt.Sprintf(`{"rating":5,"body":%q}`, strings.Repeat("b", 5001)),
		"unknown key": `{"rating":5,"stars":5}`,
	} {
		if a := e.call(t, "POST", path, ann, auth.Customer, body); a.Status != 400 {
			t.Errorf("%s: status %d, want 400: %s", name, a.Status, a.Body)
		}
	}
	if n := len(e.sink.Events()); n != 0 {
		t.Fatalf("refused requests published %d events", n)
	}
	r := reviewOf(t, e.must(t, 201, e.call(t, "POST", path, ann, auth.Customer, `{"rating":4,"title":"Solid","body":"Holds tea."}`)))
	if r.AuthorName != "Ann" || r.Rating != 4 {
		t.Fatalf("review = %+v", r)
	}
	e.must(t, 409, e.call(t, "POST", path, ann, auth.Customer, `{"rating":5}`))
	if got := e.list(t, mug, ""); len(got) != 1 || got[0].ID != r.ID {
		t.Fatalf("list = %+v", got)
	}

	// Edits: the author or an admin; anyone else is told nothing.
	e.must(t, 404, e.call(t, "PATCH", "/api/reviews/"+r.ID, bob, auth.Customer, `{"rating":1}`))
	e.must(t, 400, e.call(t, "PATCH", "/api/reviews/"+r.ID, ann, auth.Customer, `{}`))
	e.must(t, 400, e.call(t, "PATCH", "/api/reviews/"+r.ID, ann, auth.Customer, `{"rating":9}`))
	if got := reviewOf(t, e.must(t, 200, e.call(t, "PATCH", "/api/reviews/"+r.ID, ann, auth.Customer, `{"rating":2}`))); got.Rating != 2 || got.Title != "Solid" {
		t.Fatalf("edited = %+v", got)
	}
	// Hiding: admins only; the review leaves the list.
	e.must(t, 403, e.call(t, "POST", "/api/reviews/"+r.ID+"/hide", ann, auth.Customer, ""))
	e.must(t, 200, e.call(t, "POST", "/api/reviews/"+r.ID+"/hide", admin, auth.Admin, ""))
	if got := e.list(t, mug, ""); len(got) != 0 {
		t.Fatalf("a hidden review is listed: %+v", got)
	}
	e.must(t, 409, e.call(t, "POST", path, ann, auth.Customer, `{"rating":5}`))
	// Deleting frees the author to review again.
	e.must(t, 404, e.call(t, "DELETE", "/api/reviews/"+r.ID, bob, auth.Customer, ""))
	e.must(t, 204, e.call(t, "DELETE", "/api/reviews/"+r.ID, ann, auth.Customer, ""))
	e.must(t, 404, e.call(t, "DELETE", "/api/reviews/"+r.ID, ann, auth.Customer, ""))
	again := reviewOf(t, e.must(t, 201, e.call(t, "POST", path, ann, auth.Customer, `{"rating":5}`)))

	// The events, in the order of the changes, with growing revisions.
	want := []events.Type{events.ReviewAdded, events.ReviewUpdated, events.ReviewUpdated, events.ReviewDeleted, events.ReviewAdded}
	got := e.sink.WaitFor(t, len(want), 5*time.Second)
	for i, ev := range got {
		if events.Type(ev.Type()) != want[i] {
			t.Fatalf("event %d is %s, want %s", i, ev.Type(), want[i])
		}
	}
	var hidden events.ReviewUpdatedData
	if err := events.Decode(got[2], &hidden); err != nil || hidden.Visible || hidden.Revision != 3 {
		t.Fatalf("hide = %+v, %v", hidden, err)
	}
	var added events.ReviewAddedData
	if err := events.Decode(got[4], &added); err != nil || added.ReviewID != again.ID {
		t.Fatalf("second add = %+v, %v", added, err)
	}
}

func TestReviewListSortsAndPages(t *testing.T) {
	e := setup(t)
	mug := catalogtest.AddProduct(t, e.db.Store, 5)
	for _, rating := range []int{2, 5, 3} {
		c := ids.New()
		e.bought(t, c, "C", mug)
		e.must(t, 201, e.call(t, "POST", "/api/products/"+mug+"/reviews", c, auth.Customer, fmt.Sprintf(`{"rating":%d}`, rating)))
		time.Sleep(2 * time.Millisecond)
	}
	if got := e.list(t, mug, "?sort=-rating"); len(got) != 3 || got[0].Rating != 5 || got[2].Rating != 2 {
		t.Fatalf("best first = %+v", got)
	}
	if got := e.list(t, mug, ""); got[0].Rating != 3 || got[2].Rating != 2 {
		t.Fatalf("newest first = %+v", got)
	}
	e.must(t, 400, e.call(t, "GET", "/api/products/"+mug+"/reviews?sort=rating", "", "", ""))
	e.must(t, 400, e.call(t, "GET", "/api/products/"+mug+"/reviews?limit=0", "", "", ""))
	e.must(t, 404, e.call(t, "GET", "/api/products/"+ids.New()+"/reviews", "", "", ""))
	var l struct {
		Items []review `json:"items"`
		Total int      `json:"total"`
	}
	a := e.must(t, 200, e.call(t, "GET", "/api/products/"+mug+"/reviews?limit=2&page=2", "", "", ""))
	if err := json.Unmarshal(a.Body, &l); err != nil || l.Total != 3 || len(l.Items) != 1 {
		t.Fatalf("page 2 = %s", a.Body)
	}
}
