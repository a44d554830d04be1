// Package openapi builds knshop's OpenAPI 3.1 document: every HTTP route of
// every function, who may call it and what it answers. The admin function
// serves it at GET /api/openapi.json.
package openapi

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
)

// Route is one operation of the API.
type Route struct {
	Method, Path string
	Function     string   // the function serving it
	Summary      string   // one line
	Roles        []string // nil: anyone; ["signed in"]: any role
	Body         any      // request schema, or nil
	Query        []Param
	Responses    map[int]any // status → schema (nil for no body)
	Headers      []Param     // request headers it honours
}

// Param is a query or header parameter.
type Param struct {
	Name, Description string
	Schema            any
	Required          bool
}

var document = sync.OnceValues(build)

// JSON returns the OpenAPI document, built once.
func JSON() ([]byte, error) { return document() }

func build() ([]byte, error) {
	paths := map[string]map[string]any{}
	for _, r := range Routes() {
		ops, ok := paths[r.Path]
		if !ok {
			ops = map[string]any{}
			paths[r.Path] = ops
		}
		ops[strings.ToLower(r.Method)] = operation(r)
	}
	doc := map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{
			"title":       "knshop API",
			"version":     "1.0.0",
			"description": "The HTTP routes of knshop's functions. Locally every route is behind one gateway; on Knative an Ingress maps /api/<area> to each function. Errors are application/problem+json (RFC 9457). Money is integer minor units with an ISO 4217 currency.",
		},
		"servers": []any{map[string]any{"url": "http://localhost:8080", "description": "make run"}},
		"paths":   paths,
		"components": map[string]any{
			"schemas": components(),
			"securitySchemes": map[string]any{
				"bearer": map[string]any{"type": "http", "scheme": "bearer", "bearerFormat": "JWT (EdDSA, 15 minutes)"},
				"partnerSignature": map[string]any{"type": "apiKey", "in": "header", "name": "X-Signature",
					"description": "sha256=<hex HMAC-SHA256 of the raw body> with the partner's shared secret"},
			},
		},
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("openapi: %w", err)
	}
	return b, nil
}

func operation(r Route) map[string]any {
	op := map[string]any{
		"summary":     r.Summary,
		"operationId": operationID(r),
		"tags":        []string{r.Function},
	}
	desc := "Served by the `" + r.Function + "` function. "
	switch {
	case r.Roles == nil:
		desc += "Anyone may call it."
		op["security"] = []any{}
	default:
		desc += "Who: " + strings.Join(r.Roles, ", ") + "."
		op["security"] = []any{map[string]any{"bearer": []string{}}}
	}
	op["description"] = desc
	var params []any
	for _, seg := range strings.Split(r.Path, "/") {
		if strings.HasPrefix(seg, "{") {
			params = append(params, map[string]any{"name": strings.Trim(seg, "{}"), "in": "path", "required": true, "schema": str()})
		}
	}
	for _, q := range r.Query {
		params = append(params, map[string]any{"name": q.Name, "in": "query", "required": q.Required, "description": q.Description, "schema": q.Schema})
	}
	for _, h := range r.Headers {
		params = append(params, map[string]any{"name": h.Name, "in": "header", "required": h.Required, "description": h.Description, "schema": h.Schema})
	}
	if params != nil {
		op["parameters"] = params
	}
	if r.Body != nil {
		op["requestBody"] = map[string]any{"required": true, "content": map[string]any{"application/json": map[string]any{"schema": r.Body}}}
	}
	responses := map[string]any{}
	codes := make([]int, 0, len(r.Responses))
	for c := range r.Responses {
		codes = append(codes, c)
	}
	sort.Ints(codes)
	for _, c := range codes {
		resp := map[string]any{"description": statusText(c)}
		if s := r.Responses[c]; s != nil {
			resp["content"] = map[string]any{"application/json": map[string]any{"schema": s}}
		}
		responses[fmt.Sprint(c)] = resp
	}
	for _, c := range errorCodes(r) {
		if _, ok := responses[fmt.Sprint(c)]; !ok {
			responses[fmt.Sprint(c)] = map[string]any{"description": statusText(c), "content": map[string]any{"application/problem+json": map[string]any{"schema": ref("Problem")}}}
		}
	}
	op["responses"] = responses
	return op
}

// errorCodes are the problem answers every route of its kind can give.
func errorCodes(r Route) []int {
	codes := []int{500}
	if r.Body != nil || r.Query != nil {
		codes = append(codes, 400)
	}
	if r.Roles != nil {
		codes = append(codes, 401)
		if len(r.Roles) > 0 && r.Roles[0] != "signed in" {
			codes = append(codes, 403)
		}
	}
	if strings.Contains(r.Path, "{") {
		codes = append(codes, 404)
	}
	return codes
}

func operationID(r Route) string {
	var b strings.Builder
	b.WriteString(strings.ToLower(r.Method))
	for _, seg := range strings.Split(strings.TrimPrefix(r.Path, "/api/"), "/") {
		seg = strings.Trim(seg, "{}")
		seg = strings.NewReplacer(".", "", "-", "").Replace(seg)
		if seg == "" {
			continue
		}
		b.WriteString(strings.ToUpper(seg[:1]) + seg[1:])
	}
	return b.String()
}

func statusText(c int) string {
	switch c {
	case 200:
		return "OK"
	case 201:
		return "Created"
	case 202:
		return "Accepted"
	case 204:
		return "No Content"
	case 400:
		return "Invalid input (problem+json, with errors[] per field for validation)"
	case 401:
		return "No valid access token"
	case 403:
		return "The caller's role may not do this"
	case 404:
		return "Not found, or not the caller's"
	case 409:
		return "State conflict"
	case 429:
		return "Rate limited; see Retry-After"
	case 500:
		return "Internal error (no detail)"
	case 503:
		return "Not ready"
	}
	return fmt.Sprint(c)
}
