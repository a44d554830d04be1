package products

import (
	"bytes"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/knshop/knshop/lib/auth"
	"github.com/knshop/knshop/lib/auth/authtest"
	"github.com/knshop/knshop/lib/catalog/catalogtest"
	"github.com/knshop/knshop/lib/events"
	"github.com/knshop/knshop/lib/fn"
	"github.com/knshop/knshop/lib/httpapi"
	"github.com/knshop/knshop/lib/ids"
	"github.com/knshop/knshop/lib/outbox"
	"github.com/knshop/knshop/lib/sink"
	"github.com/knshop/knshop/lib/storetest"
)

// fixture is a started products function behind its HTTP handler, on a
// fresh catalog of the embedded FerretDB, publishing to a recording sink.
type fixture struct {
	t      *testing.T
	srv    *httptest.Server
	keys   *authtest.Keys
	sink   *storetest.EventRecorder
	f      *Function
	seller string // a seller with tokens ready
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	keys := authtest.New(t)
	rec := storetest.NewEventRecorder(t)
	f := New()
	extra := map[string]string{"K_SINK": rec.URL(), "CURRENCY": "USD"}
	maps.Copy(extra, keys.Env)
	srv := httptest.NewServer(catalogtest.New(t).Start(t, f, extra))
	t.Cleanup(srv.Close)
	return &fixture{t: t, srv: srv, keys: keys, sink: rec, f: f, seller: ids.New()}
}

// as returns the Authorization header of a fresh user with role; "" for none.
func (fx *fixture) as(role auth.Role) string {
	if role == "" {
		return ""
	}
	return fx.keys.Bearer(fx.t, ids.New(), role)
}

func (fx *fixture) sellerToken() string { return fx.keys.Bearer(fx.t, fx.seller, auth.Seller) }

func (fx *fixture) do(method, path, token, body string) (int, []byte) {
	t := fx.t
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = bytes.NewBufferString(body)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, fx.srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if err := resp.Body.Close(); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

// create adds a product as the fixture's seller and returns it.
func (fx *fixture) create(body string) Product {
	fx.t.Helper()
	status, b := fx.do(http.MethodPost, "/api/products", fx.sellerToken(), body)
	if status != http.StatusCreated {
		fx.t.Fatalf("create: %d %s", status, b)
	}
	return decode[Product](fx.t, b)
}

func decode[T any](t *testing.T, b []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return v
}

const mug = `{"name":"Blue Mug","description":"Stoneware, 300 ml","category":"kitchen","price":{"amount":1200,"currency":"USD"},"stock":5,"images":["https://img.example/mug.jpg"]}`

func TestCreate(t *testing.T) {
	fx := newFixture(t)
	tests := map[string]struct {
		role       auth.Role
		body       string
		wantStatus int
		wantFields []string // fields the 400 names
	}{
		"seller":             {role: auth.Seller, body: mug, wantStatus: http.StatusCreated},
		"admin":              {role: auth.Admin, body: mug, wantStatus: http.StatusCreated},
		"currency defaulted": {role: auth.Seller, body: `{"name":"Pen","description":"","category":"office","price":{"amount":0},"stock":0}`, wantStatus: http.StatusCreated},
		"customer":           {role: auth.Customer, body: mug, wantStatus: http.StatusForbidden},
		"courier":            {role: auth.Courier, body: mug, wantStatus: http.StatusForbidden},
		"no token":           {body: mug, wantStatus: http.StatusUnauthorized},
		"missing fields": {role: auth.Seller, body: `{"description":"x"}`, wantStatus: http.StatusBadRequest,
			wantFields: []string{"name", "category", "price", "stock"}},
		"negative price and stock": {role: auth.Seller, body: `{"name":"a","description":"","category":"c","price":{"amount":-1,"currency":"USD"},"stock":-2}`,
			wantStatus: http.StatusBadRequest, wantFields: []string{"price.amount", "stock"}},
		"another currency": {role: auth.Seller, body: `{"name":"a","description":"","category":"c","price":{"amount":1,"currency":"EUR"},"stock":1}`,
			wantStatus: http.StatusBadRequest, wantFields: []string{"price.currency"}},
		"bad image url": {role: auth.Seller, body: `{"name":"a","description":"","category":"c","price":{"amount":1},"stock":1,"images":["javascript:alert(1)"]}`,
			wantStatus: http.StatusBadRequest, wantFields: []string{"images[0]"}},
		"unknown field": {role: auth.Seller, body: `{"name":"a","description":"","category":"c","price":{"amount":1},"stock":1,"version":9}`,
			wantStatus: http.StatusBadRequest, wantFields: []string{"version"}},
		"operator in place of a string": {role: auth.Seller, body: `{"name":{"$ne":null},"description":"","category":"c","price":{"amount":1},"stock":1}`,
			wantStatus: http.StatusBadRequest, wantFields: []string{"name"}},
		"not json": {role: auth.Seller, body: `{"name":`, wantStatus: http.StatusBadRequest},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			fx.t = t
			before := len(fx.sink.Events())
			status, b := fx.do(http.MethodPost, "/api/products", fx.as(tc.role), tc.body)
			if status != tc.wantStatus {
				t.Fatalf("status %d, want %d: %s", status, tc.wantStatus, b)
			}
			if status != http.StatusCreated {
				checkFields(t, b, tc.wantFields)
				if got := len(fx.sink.Events()); got != before {
					t.Fatalf("%d events published by a refused request", got-before)
				}
				return
			}
			p := decode[Product](t, b)
			if p.Version != 1 || !ids.Valid(p.ID) || p.Price.Currency != "USD" {
				t.Fatalf("created %+v", p)
			}
			evs := fx.sink.WaitFor(t, before+1, 5*time.Second)
			var added events.ProductAddedData
			if err := events.Decode(evs[len(evs)-1], &added); err != nil {
				t.Fatal(err)
			}
			if added.ProductID != p.ID || added.Version != 1 || added.Stock != p.Stock || added.SellerID != p.SellerID {
				t.Fatalf("PRODUCT_ADDED %+v for %+v", added, p)
			}
			status, b = fx.do(http.MethodGet, "/api/products/"+p.ID, "", "")
			if status != http.StatusOK || decode[Product](t, b).Name != p.Name {
				t.Fatalf("get after create: %d %s", status, b)
			}
		})
	}
}

// checkFields fails unless the problem in b names exactly fields (when given).
func checkFields(t *testing.T, b []byte, fields []string) {
	t.Helper()
	if fields == nil {
		return
	}
	p := decode[httpapi.Problem](t, b)
	got := map[string]bool{}
	for _, fe := range p.Errors {
		got[fe.Field] = true
	}
	for _, f := range fields {
		if !got[f] {
			t.Fatalf("problem %s does not name %q", b, f)
		}
	}
	if len(got) != len(fields) {
		t.Fatalf("problem %s names %d fields, want %v", b, len(got), fields)
	}
}

func TestChange(t *testing.T) {
	fx := newFixture(t)
	tests := map[string]struct {
		method      string
		path        string // after /api/products/{id}
		body        string
		token       func() string
		wantStatus  int
		wantEvent   events.Type
		wantChanged []string
		check       func(t *testing.T, p Product)
	}{
		"owner renames": {method: http.MethodPatch, body: `{"name":"Red Mug"}`, token: fx.sellerToken,
			wantStatus: http.StatusOK, wantEvent: events.ProductUpdated, wantChanged: []string{"name"},
			check: func(t *testing.T, p Product) {
				if p.Name != "Red Mug" || p.Version != 2 {
					t.Fatalf("%+v", p)
				}
			}},
		"admin reprices": {method: http.MethodPatch, body: `{"price":{"amount":999,"currency":"USD"},"description":"Stoneware, 300 ml"}`,
			token: func() string { return fx.as(auth.Admin) }, wantStatus: http.StatusOK, wantEvent: events.ProductUpdated, wantChanged: []string{"price"},
			check: func(t *testing.T, p Product) {
				if p.Price.Amount != 999 || p.Version != 2 {
					t.Fatalf("%+v", p)
				}
			}},
		"patch that changes nothing": {method: http.MethodPatch, body: `{"name":"Blue Mug"}`, token: fx.sellerToken,
			wantStatus: http.StatusOK, check: func(t *testing.T, p Product) {
				if p.Version != 1 {
					t.Fatalf("version %d after a no-op patch", p.Version)
				}
			}},
		"owner sets stock": {method: http.MethodPut, path: "/stock", body: `{"stock":42}`, token: fx.sellerToken,
			wantStatus: http.StatusOK, wantEvent: events.ProductUpdated, wantChanged: []string{"stock"},
			check: func(t *testing.T, p Product) {
				if p.Stock != 42 || p.Version != 2 {
					t.Fatalf("%+v", p)
				}
			}},
		"owner deletes":               {method: http.MethodDelete, token: fx.sellerToken, wantStatus: http.StatusNoContent, wantEvent: events.ProductDeleted},
		"admin deletes":               {method: http.MethodDelete, token: func() string { return fx.as(auth.Admin) }, wantStatus: http.StatusNoContent, wantEvent: events.ProductDeleted},
		"other seller patches":        {method: http.MethodPatch, body: `{"name":"Mine"}`, token: func() string { return fx.as(auth.Seller) }, wantStatus: http.StatusForbidden},
		"other seller sets stock":     {method: http.MethodPut, path: "/stock", body: `{"stock":0}`, token: func() string { return fx.as(auth.Seller) }, wantStatus: http.StatusForbidden},
		"other seller deletes":        {method: http.MethodDelete, token: func() string { return fx.as(auth.Seller) }, wantStatus: http.StatusForbidden},
		"customer patches":            {method: http.MethodPatch, body: `{"name":"x"}`, token: func() string { return fx.as(auth.Customer) }, wantStatus: http.StatusForbidden},
		"customer deletes":            {method: http.MethodDelete, token: func() string { return fx.as(auth.Customer) }, wantStatus: http.StatusForbidden},
		"no token patches":            {method: http.MethodPatch, body: `{"name":"x"}`, token: func() string { return "" }, wantStatus: http.StatusUnauthorized},
		"no token sets stock":         {method: http.MethodPut, path: "/stock", body: `{"stock":1}`, token: func() string { return "" }, wantStatus: http.StatusUnauthorized},
		"forged token deletes":        {method: http.MethodDelete, token: func() string { return authtest.New(t).Bearer(t, fx.seller, auth.Seller) }, wantStatus: http.StatusUnauthorized},
		"empty patch":                 {method: http.MethodPatch, body: `{}`, token: fx.sellerToken, wantStatus: http.StatusBadRequest},
		"blank name":                  {method: http.MethodPatch, body: `{"name":"  "}`, token: fx.sellerToken, wantStatus: http.StatusBadRequest},
		"stock in a patch":            {method: http.MethodPatch, body: `{"stock":3}`, token: fx.sellerToken, wantStatus: http.StatusBadRequest},
		"negative stock":              {method: http.MethodPut, path: "/stock", body: `{"stock":-1}`, token: fx.sellerToken, wantStatus: http.StatusBadRequest},
		"stock missing":               {method: http.MethodPut, path: "/stock", body: `{}`, token: fx.sellerToken, wantStatus: http.StatusBadRequest},
		"stock that is not a integer": {method: http.MethodPut, path: "/stock", body: `{"stock":"7"}`, token: fx.sellerToken, wantStatus: http.StatusBadRequest},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			fx.t = t
			p := fx.create(mug)
			fx.sink.WaitFor(t, len(fx.sink.Events()), time.Second)
			before := len(fx.sink.Events())
			status, b := fx.do(tc.method, "/api/products/"+p.ID+tc.path, tc.token(), tc.body)
			if status != tc.wantStatus {
				t.Fatalf("status %d, want %d: %s", status, tc.wantStatus, b)
			}
			if tc.check != nil {
				tc.check(t, decode[Product](t, b))
			}
			evs := fx.sink.Events()
			if tc.wantEvent == "" {
				if len(evs) != before {
					t.Fatalf("%d events for a request that changed nothing", len(evs)-before)
				}
				_, after := fx.do(http.MethodGet, "/api/products/"+p.ID, "", "")
				if got := decode[Product](t, after); got.Version != 1 {
					t.Fatalf("product changed: %+v", got)
				}
				return
			}
			evs = fx.sink.WaitFor(t, before+1, 5*time.Second)
			ev := evs[len(evs)-1]
			if events.Type(ev.Type()) != tc.wantEvent || ev.Subject() != p.ID {
				t.Fatalf("event %s", ev)
			}
			if tc.wantEvent == events.ProductUpdated {
				var d events.ProductUpdatedData
				if err := events.Decode(ev, &d); err != nil {
					t.Fatal(err)
				}
				got := decode[Product](t, b)
				if d.Version != got.Version || d.Stock != got.Stock || d.Name != got.Name || len(d.Changed) != len(tc.wantChanged) || d.Changed[0] != tc.wantChanged[0] {
					t.Fatalf("PRODUCT_UPDATED %+v for %+v", d, got)
				}
			}
			if tc.wantEvent == events.ProductDeleted {
				var d events.ProductDeletedData
				if err := events.Decode(ev, &d); err != nil || d.Version != 2 {
					t.Fatalf("PRODUCT_DELETED %+v (%v)", d, err)
				}
				for _, m := range []string{http.MethodGet, http.MethodDelete} {
					if status, _ := fx.do(m, "/api/products/"+p.ID, fx.sellerToken(), ""); status != http.StatusNotFound {
						t.Fatalf("%s after delete: %d", m, status)
					}
				}
			}
		})
	}
}

func TestNotFound(t *testing.T) {
	fx := newFixture(t)
	tests := map[string]struct{ method, path, body string }{
		"get unknown":        {http.MethodGet, "/api/products/" + ids.New(), ""},
		"get a non-id":       {http.MethodGet, "/api/products/..%2F$where", ""},
		"patch unknown":      {http.MethodPatch, "/api/products/" + ids.New(), `{"name":"x"}`},
		"set unknown stock":  {http.MethodPut, "/api/products/" + ids.New() + "/stock", `{"stock":1}`},
		"delete unknown":     {http.MethodDelete, "/api/products/" + ids.New(), ""},
		"delete with non-id": {http.MethodDelete, "/api/products/not-an-id", ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			fx.t = t
			if status, b := fx.do(tc.method, tc.path, fx.sellerToken(), tc.body); status != http.StatusNotFound {
				t.Fatalf("status %d, want 404: %s", status, b)
			}
		})
	}
}

// TestEveryVersionHasItsEvent: concurrent writes to one product each get
// their own version, and each event carries the version it stored.
func TestEveryVersionHasItsEvent(t *testing.T) {
	fx := newFixture(t)
	p := fx.create(mug)
	const writers = 8
	done := make(chan int, writers)
	for i := range writers {
		go func() {
			status, _ := fx.do(http.MethodPut, "/api/products/"+p.ID+"/stock", fx.sellerToken(), `{"stock":`+strconv.Itoa(100+i)+`}`)
			done <- status
		}()
	}
	for range writers {
		if s := <-done; s != http.StatusOK {
			t.Fatalf("status %d", s)
		}
	}
	evs := fx.sink.WaitFor(t, 1+writers, 5*time.Second)
	seen := map[int64]bool{}
	for _, e := range evs[1:] {
		var d events.ProductUpdatedData
		if err := events.Decode(e, &d); err != nil {
			t.Fatal(err)
		}
		if seen[d.Version] {
			t.Fatalf("version %d published twice", d.Version)
		}
		seen[d.Version] = true
	}
	_, b := fx.do(http.MethodGet, "/api/products/"+p.ID, "", "")
	if got := decode[Product](t, b); got.Version != 1+writers || !seen[got.Version] {
		t.Fatalf("final %+v, versions published %v", got, seen)
	}
}

// TestSinkDownLosesNoEvent: with the Broker refusing, the write still
// succeeds, its event waits in the product's outbox, and the relay sends it
// exactly once when the Broker is back.
func TestSinkDownLosesNoEvent(t *testing.T) {
	fx := newFixture(t)
	fx.sink.FailWith(http.StatusServiceUnavailable)
	p := fx.create(mug)
	if status, b := fx.do(http.MethodPut, "/api/products/"+p.ID+"/stock", fx.sellerToken(), `{"stock":9}`); status != http.StatusOK {
		t.Fatalf("stock: %d %s", status, b)
	}
	if n := len(fx.sink.Events()); n != 0 {
		t.Fatalf("%d events went through a refusing sink", n)
	}
	fx.sink.FailWith(0)
	relay := outbox.NewMongo(fx.f.store.Products(), sink.NewHTTP(fx.sink.URL()), fn.Logger(t.Context()))
	sent, err := relay.Relay(t.Context(), 100)
	if err != nil || sent != 2 {
		t.Fatalf("relay sent %d (%v), want 2", sent, err)
	}
	if sent, err := relay.Relay(t.Context(), 100); err != nil || sent != 0 {
		t.Fatalf("second relay sent %d (%v), want 0", sent, err)
	}
	evs := fx.sink.Events()
	if len(evs) != 2 || evs[0].Type() != string(events.ProductAdded) || evs[1].Type() != string(events.ProductUpdated) {
		t.Fatalf("relayed %v", evs)
	}
}

func TestList(t *testing.T) {
	fx := newFixture(t)
	add := func(name, desc, category string, price, stock int64) Product {
		b, err := json.Marshal(map[string]any{"name": name, "description": desc, "category": category,
			"price": map[string]any{"amount": price}, "stock": stock})
		if err != nil {
			t.Fatal(err)
		}
		return fx.create(string(b))
	}
	lamp := add("Desk Lamp", "LED, warm light", "home", 4500, 3)
	mug := add("Blue Mug", "Stoneware", "kitchen", 1200, 0)
	pan := add("Frying Pan", "Cast iron (28 cm)", "kitchen", 3900, 7)
	gone := add("Old Lamp", "discontinued", "home", 100, 1)
	if status, _ := fx.do(http.MethodDelete, "/api/products/"+gone.ID, fx.sellerToken(), ""); status != http.StatusNoContent {
		t.Fatal("delete failed")
	}
	tests := map[string]struct {
		query      url.Values
		want       []string
		wantTotal  int
		wantStatus int
	}{
		"everything live, newest first": {want: []string{pan.ID, mug.ID, lamp.ID}, wantTotal: 3},
		"text in the name, any case":    {query: url.Values{"q": {"lAMp"}}, want: []string{lamp.ID}, wantTotal: 1},
		"text in the description":       {query: url.Values{"q": {"stoneware"}}, want: []string{mug.ID}, wantTotal: 1},
		"regex characters are literal":  {query: url.Values{"q": {".*"}}, want: []string{}, wantTotal: 0},
		"parentheses are literal":       {query: url.Values{"q": {"(28 cm)"}}, want: []string{pan.ID}, wantTotal: 1},
		"category":                      {query: url.Values{"category": {"kitchen"}, "sort": {"price"}}, want: []string{mug.ID, pan.ID}, wantTotal: 2},
		"price range":                   {query: url.Values{"minPrice": {"1200"}, "maxPrice": {"3900"}, "sort": {"-price"}}, want: []string{pan.ID, mug.ID}, wantTotal: 2},
		"in stock":                      {query: url.Values{"inStock": {"true"}, "sort": {"name"}}, want: []string{lamp.ID, pan.ID}, wantTotal: 2},
		"second page":                   {query: url.Values{"sort": {"price"}, "limit": {"2"}, "page": {"2"}}, want: []string{lamp.ID}, wantTotal: 3},
		"negative price":                {query: url.Values{"minPrice": {"-1"}}, wantStatus: http.StatusBadRequest},
		"price that is not a number":    {query: url.Values{"maxPrice": {"cheap"}}, wantStatus: http.StatusBadRequest},
		"min above max":                 {query: url.Values{"minPrice": {"10"}, "maxPrice": {"5"}}, wantStatus: http.StatusBadRequest},
		"limit over 100":                {query: url.Values{"limit": {"101"}}, wantStatus: http.StatusBadRequest},
		"page zero":                     {query: url.Values{"page": {"0"}}, wantStatus: http.StatusBadRequest},
		"unknown sort":                  {query: url.Values{"sort": {"stock"}}, wantStatus: http.StatusBadRequest},
		"operator as sort":              {query: url.Values{"sort": {"$natural"}}, wantStatus: http.StatusBadRequest},
		"inStock not a boolean":         {query: url.Values{"inStock": {"maybe"}}, wantStatus: http.StatusBadRequest},
		"one seller's":                  {query: url.Values{"sellerId": {lamp.SellerID}, "sort": {"name"}}, want: []string{mug.ID, lamp.ID, pan.ID}, wantTotal: 3},
		"another seller's":              {query: url.Values{"sellerId": {"someone-else"}}, want: []string{}, wantTotal: 0},
		"operator as seller":            {query: url.Values{"sellerId": {`{"$ne":null}`}}, want: []string{}, wantTotal: 0},
		"minRating out of range":        {query: url.Values{"minRating": {"6"}}, wantStatus: http.StatusBadRequest},
		"minRating not a number":        {query: url.Values{"minRating": {"good"}}, wantStatus: http.StatusBadRequest},
		"no ratings yet":                {query: url.Values{"minRating": {"1"}}, want: []string{}, wantTotal: 0},
		"best rated":                    {query: url.Values{"sort": {"-rating"}, "limit": {"1"}}, want: []string{lamp.ID}, wantTotal: 3},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			fx.t = t
			status, b := fx.do(http.MethodGet, "/api/products?"+tc.query.Encode(), "", "")
			want := tc.wantStatus
			if want == 0 {
				want = http.StatusOK
			}
			if status != want {
				t.Fatalf("status %d, want %d: %s", status, want, b)
			}
			if status != http.StatusOK {
				return
			}
			l := decode[httpapi.List[Product]](t, b)
			got := make([]string, len(l.Items))
			for i, p := range l.Items {
				got[i] = p.ID
			}
			if l.Total != tc.wantTotal || len(got) != len(tc.want) {
				t.Fatalf("got %v (total %d), want %v (total %d)", got, l.Total, tc.want, tc.wantTotal)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("got %v, want %v", got, tc.want)
				}
			}
		})
	}
}
