package openapi

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"
)

func TestDocumentIsOpenAPI31WithEveryRoute(t *testing.T) {
	raw, err := JSON()
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		OpenAPI string                               `json:"openapi"`
		Paths   map[string]map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Fatalf("openapi = %q", doc.OpenAPI)
	}
	ids := map[string]bool{}
	for _, r := range Routes() {
		op, ok := doc.Paths[r.Path][strings.ToLower(r.Method)]
		if !ok {
			t.Errorf("%s %s missing from the document", r.Method, r.Path)
			continue
		}
		id, _ := op["operationId"].(string)
		if ids[id] {
			t.Errorf("operationId %q used twice", id)
		}
		ids[id] = true
		if _, ok := op["responses"].(map[string]any)["500"]; !ok {
			t.Errorf("%s %s documents no 500", r.Method, r.Path)
		}
	}
	// Every $ref points at a component that exists.
	var full map[string]any
	if err := json.Unmarshal(raw, &full); err != nil {
		t.Fatal(err)
	}
	schemas := full["components"].(map[string]any)["schemas"].(map[string]any)
	for _, m := range regexp.MustCompile(`"#/components/schemas/([A-Za-z]+)"`).FindAllStringSubmatch(string(raw), -1) {
		if _, ok := schemas[m[1]]; !ok {
			t.Errorf("dangling $ref to %s", m[1])
		}
	}
}

// The project's own route tables (docs/functions.md) and this document list
// the same routes.
func TestEveryContractRouteIsDocumented(t *testing.T) {
	contract, err := os.ReadFile("../../docs/functions.md")
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, r := range Routes() {
		have[r.Method+" "+r.Path] = true
	}
	re := regexp.MustCompile("`((?:GET|POST|PUT|PATCH|DELETE)(?: / (?:GET|POST|PUT|PATCH|DELETE))*) (/api/[^ `?]+)")
	found := 0
	inDocs := map[string]bool{}
	for _, m := range re.FindAllStringSubmatch(string(contract), -1) {
		for _, method := range strings.Split(m[1], " / ") {
			found++
			inDocs[method+" "+m[2]] = true
			if !have[method+" "+m[2]] {
				t.Errorf("docs/functions.md route %s %s is not in the OpenAPI document", method, m[2])
			}
		}
	}
	for route := range have {
		if !inDocs[route] {
			t.Errorf("OpenAPI route %s is not in docs/functions.md", route)
		}
	}
	if found < 30 {
		t.Fatalf("read only %d routes from the contract", found)
	}
}
