package gateway

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
)

func TestRoutesByArea(t *testing.T) {
	backend := func(name string) *url.URL {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, name+" "+r.URL.Path)
		}))
		t.Cleanup(srv.Close)
		u, _ := url.Parse(srv.URL)
		return u
	}
	down, _ := url.Parse("http://127.0.0.1:1")
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	r := Routes{
		Areas:  map[string]*url.URL{"orders": backend("orders"), "openapi.json": backend("admin"), "cart": down},
		Nested: []Nested{{Area: "orders", Leaf: "returns", Target: backend("returns")}},
	}
	noRoot, err := New(r, log)
	if err != nil {
		t.Fatal(err)
	}
	bare := httptest.NewServer(noRoot)
	defer bare.Close()
	if resp, err := http.Get(bare.URL + "/"); err != nil || resp.StatusCode != 404 {
		t.Fatalf("without a root, / = %v %v; want 404", resp, err)
	}
	r.Root = backend("storefront")
	g, err := New(r, log)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(g)
	defer srv.Close()
	cases := map[string]struct {
		path     string
		wantCode int
		wantBody string
	}{
		"area with id":   {"/api/orders/42", 200, "orders /api/orders/42\n"[:21]},
		"document":       {"/api/openapi.json", 200, "admin /api/openapi.json"},
		"nested route":   {"/api/orders/42/returns", 200, "returns /api/orders/42/returns"},
		"below a nested": {"/api/orders/42/returns/x", 200, "returns /api/orders/42/returns/x"},
		"not nested":     {"/api/orders/42/cancel", 200, "orders /api/orders/42/cancel"},
		"no id":          {"/api/orders//returns", 200, "orders /api/orders//returns"},
		"unknown area":   {"/api/nope", 404, ""},
		"the storefront": {"/", 200, "storefront /"},
		"a page of it":   {"/app.js", 200, "storefront /app.js"},
		"bare /api":      {"/api", 404, ""},
		"function down":  {"/api/cart", 502, ""},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			resp, err := http.Get(srv.URL + tc.path)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.wantCode {
				t.Fatalf("status = %d, want %d (%s)", resp.StatusCode, tc.wantCode, b)
			}
			if tc.wantBody != "" && string(b) != tc.wantBody {
				t.Fatalf("body = %q, want %q", b, tc.wantBody)
			}
		})
	}
}
