package events

import (
	"bytes"
	"encoding/json"
	"maps"
	"slices"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// schemaValidators compiles the shipped JSON Schema files with a JSON Schema
// engine: the reference the run-time check must agree with.
var schemaValidators = sync.OnceValues(func() (map[Type]*jsonschema.Schema, error) {
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	for _, e := range catalog {
		raw, err := SchemaJSON(e.typ)
		if err != nil {
			return nil, err
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
		if err != nil {
			return nil, err
		}
		if err := c.AddResource(e.typ.Schema(), doc); err != nil {
			return nil, err
		}
	}
	out := map[Type]*jsonschema.Schema{}
	for _, e := range catalog {
		s, err := c.Compile(e.typ.Schema())
		if err != nil {
			return nil, err
		}
		out[e.typ] = s
	}
	return out, nil
})

// mutations are broken (and some still valid) variants of one JSON object:
// each key removed, set to null, to values of every JSON kind, and, for
// nested objects and arrays, the same one level down.
func mutations(doc map[string]any) []map[string]any {
	odd := []any{nil, "", "x", "expired", "usd", "USD", "2026-13-01", "2026-11-25T12:00:00Z", json.Number("0"), json.Number("-1"),
		json.Number("1.5"), json.Number("2.0"), json.Number("10000"), json.Number("10001"), json.Number("10000000000"),
		json.Number("10000000001"), json.Number("99999999999999999999"), true, []any{}, []any{"x"}, map[string]any{}}
	var out []map[string]any
	for _, k := range slices.Sorted(maps.Keys(doc)) {
		gone := maps.Clone(doc)
		delete(gone, k)
		out = append(out, gone)
		for _, v := range odd {
			m := maps.Clone(doc)
			m[k] = v
			out = append(out, m)
		}
		switch inner := doc[k].(type) {
		case map[string]any:
			for _, sub := range mutations(inner) {
				m := maps.Clone(doc)
				m[k] = sub
				out = append(out, m)
			}
		case []any:
			if len(inner) > 0 {
				if first, ok := inner[0].(map[string]any); ok {
					for _, sub := range mutations(first) {
						m := maps.Clone(doc)
						m[k] = []any{sub}
						out = append(out, m)
					}
				}
			}
		}
	}
	extra := maps.Clone(doc)
	extra["somethingElse"] = 1
	return append(out, extra)
}

// The run-time check and the JSON Schema engine on the shipped files agree
// on every sample and on thousands of broken variants of them.
func TestCheckAgreesWithTheSchemas(t *testing.T) {
	validators, err := schemaValidators()
	if err != nil {
		t.Fatal(err)
	}
	compared := 0
	for typ, d := range samples() {
		raw, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		var doc map[string]any
		if err := dec.Decode(&doc); err != nil {
			t.Fatal(err)
		}
		for _, m := range append([]map[string]any{doc}, mutations(doc)...) {
			b, err := json.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			schemaOK := validators[typ].Validate(inst) == nil
			checkErr := validate(typ, b)
			if schemaOK != (checkErr == nil) {
				t.Errorf("%s %s: schema says valid=%v, check says %v", typ, b, schemaOK, checkErr)
			}
			compared++
		}
	}
	if compared < 1000 {
		t.Fatalf("compared only %d documents", compared)
	}
	t.Logf("%d documents compared", compared)
}
