package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
)

// hostileBody is one class of bad request body for a route whose body has
// the property prop; field is the field the problem must name ("" when the
// body as a whole is wrong).
type hostileBody struct {
	body  func(prop string) string
	field func(prop string) string
}

func named(prop string) string { return prop }
func noField(string) string    { return "" }

var hostileBodies = map[string]hostileBody{
	"case-variant key":   {body: func(p string) string { return fmt.Sprintf(`{%q:"x"}`, strings.ToUpper(p)) }, field: strings.ToUpper},
	"capitalized key":    {body: func(p string) string { return fmt.Sprintf(`{%q:"x"}`, strings.ToUpper(p[:1])+p[1:]) }, field: func(p string) string { return strings.ToUpper(p[:1]) + p[1:] }},
	"repeated key":       {body: func(p string) string { return fmt.Sprintf(`{%q:"a",%q:"b"}`, p, p) }, field: named},
	"invalid UTF-8":      {body: func(p string) string { return fmt.Sprintf("{%q:\"a\xffb\"}", p) }, field: named},
	"overflowing number": {body: func(p string) string { return fmt.Sprintf(`{%q:99999999999999999999999}`, p) }, field: named},
	"fractional number":  {body: func(p string) string { return fmt.Sprintf(`{%q:1.5}`, p) }, field: named},
	"operator object":    {body: func(p string) string { return fmt.Sprintf(`{%q:{"$ne":null}}`, p) }, field: named},
	"array for object":   {body: func(string) string { return `[{"$where":"1"}]` }, field: func(string) string { return "(body)" }},
	"string body":        {body: func(string) string { return `"x"` }, field: func(string) string { return "(body)" }},
	"trailing data":      {body: func(p string) string { return `{} {}` }, field: noField},
	"truncated":          {body: func(p string) string { return fmt.Sprintf(`{%q:`, p) }, field: noField},
}

// hostileQueries are bad paging (and filter) values for list routes.
var hostileQueries = []string{
	"page=9223372036854775807&limit=100", "page=99999999999999999999", "page=0", "page=1.5",
	"limit=101", "limit=-1", "limit=1e2", "page=%FF",
}

// The OpenAPI document served by the stack is walked route by route: every
// body-taking route gets each class of hostile body, every list route each
// hostile paging query, every path an unrouted method and an unknown
// sub-path. Every answer must be a 4xx problem+json (400 naming the field
// for a bad body), and what the reads return afterwards must not change.
func TestHostileInputOnEveryRoute(t *testing.T) {
	s := startShop(t, nil)
	admin := s.login(adminEmail, adminPassword)
	seller, _ := s.register("seller@hostile.test", "seller")
	customer, customerID := s.register("customer@hostile.test", "customer")
	product := s.addProduct(seller, "mug", 1999, 50)
	eventually(t, "the customer's profile exists", func() string {
		if code, out := s.call("GET", "/api/users/me", customer, nil); code != 200 {
			return describe(out)
		}
		return ""
	})
	addr := s.must(201, "POST", "/api/users/me/addresses", customer, home)["id"].(string)
	order := placeEventually(t, s, customer, product, 1, "pm_card_visa")
	s.waitOrder(customer, order, "COMPLETED")
	delivery := s.must(200, "GET", "/api/deliveries?orderId="+order, customer, nil)["items"].([]any)[0].(map[string]any)["id"].(string)
	payment := s.must(200, "GET", "/api/payments?orderId="+order, customer, nil)["items"].([]any)[0].(map[string]any)["id"].(string)
	s.must(200, "PUT", "/api/cart/items/"+product, customer, map[string]any{"quantity": 2})

	ids := map[string]string{
		"/api/users/me/addresses/{addressId}": addr, "/api/users/{id}": customerID, "/api/products/{id}": product,
		"/api/cart/items/{productId}": product, "/api/orders/{id}": order, "/api/payments/{id}": payment,
		"/api/deliveries/{id}": delivery, "/api/payments/webhooks/{gateway}": "sandbox", "/api/admin/dead-letters/{id}": "none",
		"/api/returns/{id}": "none", "/api/reviews/{id}": "none",
	}
	reads := func() map[string]any {
		out := map[string]any{}
		for _, r := range []struct{ path, who, token string }{
			{"/api/users/me", "customer", customer}, {"/api/users/me", "seller", seller}, {"/api/products/" + product, "anyone", ""},
			{"/api/products", "anyone", ""}, {"/api/cart", "customer", customer}, {"/api/orders", "customer", customer},
			{"/api/orders", "admin", admin}, {"/api/payments?orderId=" + order, "customer", customer},
			{"/api/deliveries?orderId=" + order, "customer", customer}, {"/api/admin/dead-letters", "admin", admin},
			{"/api/users/" + customerID, "admin", admin},
		} {
			code, body := s.call("GET", r.path, r.token, nil)
			out[fmt.Sprintf("GET %s as %s (%d)", r.path, r.who, code)] = body
		}
		return out
	}
	before := reads()

	doc := s.must(200, "GET", "/api/openapi.json", "", nil)
	schemas := doc["components"].(map[string]any)["schemas"].(map[string]any)
	paths := doc["paths"].(map[string]any)
	pathNames := make([]string, 0, len(paths))
	for p := range paths {
		pathNames = append(pathNames, p)
	}
	sort.Strings(pathNames)
	tokenFor := func(method, path string) string {
		switch {
		case method == "POST" && path == "/api/orders", strings.HasPrefix(path, "/api/cart"), strings.HasPrefix(path, "/api/users/me"),
			strings.HasSuffix(path, "/returns"), strings.HasSuffix(path, "/reviews"):
			return customer
		case strings.HasPrefix(path, "/api/products"):
			return seller
		}
		return admin
	}
	concrete := func(path string) string {
		for pattern, id := range ids {
			if strings.HasPrefix(path, pattern) {
				return strings.Replace(path, pattern, strings.Replace(pattern, pattern[strings.LastIndex(pattern, "{"):], id, 1), 1)
			}
		}
		return path
	}
	walked := 0
	for _, path := range pathNames {
		ops := paths[path].(map[string]any)
		url := concrete(path)
		for method, raw := range ops {
			op := raw.(map[string]any)
			method = strings.ToUpper(method)
			token := tokenFor(method, path)
			if props := bodyProperties(op, schemas); len(props) > 0 {
				for class, hb := range hostileBodies {
					for prop, schema := range props {
						if class == "operator object" && freeFormObject(schema) {
							continue // any JSON object is a valid value here (preferences)
						}
						walked++
						name := fmt.Sprintf("%s %s %s %s", method, path, class, prop)
						code, hdr, p := s.raw(method, url, token, hb.body(prop))
						checkProblem(t, name, code, hdr, p, 400)
						// An object-valued property may name the member within it.
						if want := hb.field(prop); want != "" && (len(p.Errors) == 0 || (p.Errors[0].Field != want && !strings.HasPrefix(p.Errors[0].Field, want+"."))) {
							t.Errorf("%s: problem names %+v, want field %q", name, p.Errors, want)
						}
					}
				}
			}
			if hasQuery(op, "page") {
				for _, q := range hostileQueries {
					walked++
					name := fmt.Sprintf("%s %s?%s", method, path, q)
					code, hdr, p := s.raw(method, url+"?"+q, token, "")
					checkProblem(t, name, code, hdr, p, 400)
				}
			}
		}
		for _, m := range []string{"PATCH", "PUT", "DELETE", "POST", "GET"} {
			if _, routed := ops[strings.ToLower(m)]; routed {
				continue
			}
			walked++
			code, hdr, p := s.raw(m, url, tokenFor(m, path), "{}")
			checkProblem(t, m+" "+path+" (not routed)", code, hdr, p, 405)
			break
		}
		walked++
		code, hdr, p := s.raw("GET", url+"/no/such/thing", admin, "")
		checkProblem(t, "GET "+path+"/no/such/thing", code, hdr, p, 404)
	}
	if walked < 200 {
		t.Fatalf("walked only %d hostile requests", walked)
	}
	t.Logf("%d hostile requests over %d paths", walked, len(pathNames))
	if after := reads(); !reflect.DeepEqual(before, after) {
		for k := range before {
			if !reflect.DeepEqual(before[k], after[k]) {
				t.Errorf("%s changed:\nbefore %v\nafter  %v", k, before[k], after[k])
			}
		}
	}
}

type problem struct {
	Type, Title string
	Status      int
	Errors      []struct{ Field, Message string }
}

// raw sends body as it is (bytes, not re-encoded) and decodes a problem.
func (s *shop) raw(method, path, token, body string) (int, http.Header, problem) {
	s.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = bytes.NewReader([]byte(body))
	}
	req, err := http.NewRequest(method, s.stack.GatewayURL+path, rd)
	if err != nil {
		s.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	var p problem
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		s.t.Fatal(err)
	}
	if json.Unmarshal(b, &p) != nil {
		p.Title = "(not JSON) " + string(b)
	}
	return resp.StatusCode, resp.Header, p
}

func checkProblem(t *testing.T, name string, code int, hdr http.Header, p problem, want int) {
	t.Helper()
	if code != want {
		t.Errorf("%s: status %d, want %d (%+v)", name, code, want, p)
		return
	}
	if ct := hdr.Get("Content-Type"); ct != "application/problem+json" || p.Status != code {
		t.Errorf("%s: answer is %q with status field %d, want problem+json", name, ct, p.Status)
	}
}

// bodyProperties are the top-level properties of op's JSON request body
// (its $ref resolved), by name.
func bodyProperties(op, schemas map[string]any) map[string]any {
	rb, ok := op["requestBody"].(map[string]any)
	if !ok {
		return nil
	}
	schema, _ := rb["content"].(map[string]any)["application/json"].(map[string]any)["schema"].(map[string]any)
	if ref, ok := schema["$ref"].(string); ok {
		schema, _ = schemas[strings.TrimPrefix(ref, "#/components/schemas/")].(map[string]any)
	}
	props, _ := schema["properties"].(map[string]any)
	return props
}

// freeFormObject: a schema that takes any JSON object.
func freeFormObject(schema any) bool {
	m, _ := schema.(map[string]any)
	_, hasProps := m["properties"]
	return m["type"] == "object" && !hasProps
}

func hasQuery(op map[string]any, name string) bool {
	params, _ := op["parameters"].([]any)
	return slices.ContainsFunc(params, func(p any) bool {
		m := p.(map[string]any)
		return m["in"] == "query" && m["name"] == name
	})
}
