package e2e

import (
	"bytes"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/knshop/knshop/lib/openapi"
)

var openapiSchemas = sync.OnceValues(func() (*jsonschema.Compiler, error) {
	raw, err := openapi.JSON()
	if err != nil {
		return nil, err
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("urn:knshop:openapi", doc); err != nil {
		return nil, err
	}
	return c, nil
})

// conforms fails the test unless body is what the OpenAPI document says the
// component schema name looks like: the document served at
// /api/openapi.json must describe the answers the functions really give.
func conforms(t testing.TB, name string, body map[string]any) {
	t.Helper()
	if err := mismatch(t, name, body); err != nil {
		t.Errorf("answer does not match the OpenAPI schema %s: %v\nanswer: %v", name, err, body)
	}
}

func mismatch(t testing.TB, name string, body map[string]any) error {
	t.Helper()
	c, err := openapiSchemas()
	if err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("urn:knshop:openapi#/components/schemas/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return s.Validate(roundTrip(t, body))
}

// The check can fail: answers that break the documented shape are caught.
func TestConformsCatchesMismatches(t *testing.T) {
	cases := map[string]struct {
		schema string
		body   map[string]any
	}{
		"missing required field": {"Money", map[string]any{"amount": 5}},
		"undocumented field":     {"Money", map[string]any{"amount": 5, "currency": "USD", "cents": true}},
		"wrong type":             {"Product", map[string]any{"id": 1, "sellerId": "s", "name": "n", "category": "c", "price": map[string]any{"amount": 1, "currency": "USD"}, "stock": 1, "version": 1}},
		"status outside enum":    {"Delivery", map[string]any{"id": "d", "orderId": "o", "status": "LOST", "partner": map[string]any{"id": "p", "name": "n"}, "history": []any{}}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if mismatch(t, tc.schema, tc.body) == nil {
				t.Fatalf("%v passed as %s", tc.body, tc.schema)
			}
		})
	}
	if err := mismatch(t, "Money", map[string]any{"amount": 5, "currency": "USD"}); err != nil {
		t.Fatalf("a valid Money failed: %v", err)
	}
}

// roundTrip turns a decoded JSON map into the value kinds the validator
// expects (json.Number for numbers).
func roundTrip(t testing.TB, v map[string]any) any {
	t.Helper()
	raw, err := jsonMarshal(v)
	if err != nil {
		t.Fatal(err)
	}
	out, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	return out
}
