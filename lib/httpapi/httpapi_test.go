package httpapi

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-json-experiment/json/jsontext"
)

type login struct {
	Email    string `json:"email"`
	Password string `json:"password"`
	Age      int    `json:"age,omitempty"`
}

func TestDecodeIsStrict(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		body        string
		contentType string
		wantField   string // "" when the problem names no field
		wantOK      bool
	}{
		"valid":                 {body: `{"email":"a@b.c","password":"secret12"}`, wantOK: true},
		"operator for a string": {body: `{"email":{"$ne":null},"password":{"$ne":null}}`, wantField: "email"},
		"number for a string":   {body: `{"email":5,"password":"x"}`, wantField: "email"},
		"string for a number":   {body: `{"email":"a","password":"x","age":"9"}`, wantField: "age"},
		"unknown field":         {body: `{"email":"a","password":"x","admin":true}`, wantField: "admin"},
		"malformed":             {body: `{"email":`},
		"empty":                 {body: ``},
		"two values":            {body: `{"email":"a","password":"x"}{}`},
		"array body":            {body: `[1,2]`, wantField: "(body)"},
		"too large":             {body: `{"email":"` + strings.Repeat("a", MaxBodyBytes) + `","password":"x"}`},
		"not json content type": {body: `{"email":"a","password":"x"}`, contentType: "text/plain"},
		"name in another case":  {body: `{"EMAIL":"a","password":"x"}`, wantField: "EMAIL"},
		"name capitalized":      {body: `{"email":"a","Password":"x"}`, wantField: "Password"},
		"repeated key":          {body: `{"email":"a","email":"b","password":"x"}`, wantField: "email"},
		"invalid UTF-8":         {body: "{\"email\":\"\xff@b.c\",\"password\":\"x\"}", wantField: "email"},
		"fractional integer":    {body: `{"email":"a","password":"x","age":1.5}`, wantField: "age"},
		"exponent integer":      {body: `{"email":"a","password":"x","age":1e3}`, wantField: "age"},
		"overflowing integer":   {body: `{"email":"a","password":"x","age":99999999999999999999}`, wantField: "age"},
		"trailing garbage":      {body: `{"email":"a","password":"x"} x`},
		"null body":             {body: `null`, wantOK: true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest(http.MethodPost, "/x", strings.NewReader(tc.body))
			ct := tc.contentType
			if ct == "" {
				ct = "application/json"
			}
			r.Header.Set("Content-Type", ct)
			var v login
			err := Decode(httptest.NewRecorder(), r, &v)
			if tc.wantOK {
				if err != nil {
					t.Fatalf("Decode = %v", err)
				}
				return
			}
			p, ok := err.(*Problem)
			if !ok || p.Status != http.StatusBadRequest {
				t.Fatalf("Decode = %v, want a 400 problem", err)
			}
			if tc.wantField == "" && len(p.Errors) != 0 {
				t.Fatalf("problem errors = %+v, want none", p.Errors)
			}
			if tc.wantField != "" && (len(p.Errors) != 1 || p.Errors[0].Field != tc.wantField) {
				t.Fatalf("problem errors = %+v, want field %q", p.Errors, tc.wantField)
			}
		})
	}
}

func TestFieldName(t *testing.T) {
	t.Parallel()
	cases := map[string]string{"": "(body)", "/email": "email", "/items/0/quantity": "items[0].quantity", "/a~1b": "a/b"}
	for in, want := range cases {
		if got := FieldName(jsontext.Pointer(in)); got != want {
			t.Errorf("FieldName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestWriteProblemAndError(t *testing.T) {
	t.Parallel()
	r := httptest.NewRequest(http.MethodGet, "/api/orders/x", nil)
	w := httptest.NewRecorder()
	WriteProblem(w, r, TooManyRequests("slow down", 1500*time.Millisecond))
	if w.Code != 429 || w.Header().Get("Retry-After") != "2" || w.Header().Get("Content-Type") != ProblemContentType {
		t.Fatalf("429 answer: %d %v", w.Code, w.Header())
	}
	w = httptest.NewRecorder()
	WriteError(w, r, nil, errString("dial tcp 10.0.0.1: secret internals"))
	var p Problem
	if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil {
		t.Fatal(err)
	}
	if w.Code != 500 || strings.Contains(w.Body.String(), "secret") || p.Status != 500 {
		t.Fatalf("internal error leaked or wrong: %d %s", w.Code, w.Body.String())
	}
	w = httptest.NewRecorder()
	WriteError(w, r, nil, NotFound("order"))
	if w.Code != 404 || !strings.Contains(w.Body.String(), `"instance":"/api/orders/x"`) {
		t.Fatalf("404 answer: %d %s", w.Code, w.Body.String())
	}
}

type errString string

func (e errString) Error() string { return string(e) }

func TestParsePage(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		query   string
		want    Page
		wantErr bool
	}{
		"defaults":       {query: "", want: Page{1, 20}},
		"explicit":       {query: "page=3&limit=100", want: Page{3, 100}},
		"limit over 100": {query: "limit=101", wantErr: true},
		"page zero":      {query: "page=0", wantErr: true},
		"largest page":   {query: "page=10000000&limit=100", want: Page{10_000_000, 100}},
		"page past max":  {query: "page=10000001", wantErr: true},
		"page overflows": {query: "page=9223372036854775807&limit=100", wantErr: true},
		"page too big":   {query: "page=99999999999999999999999", wantErr: true},
		"not a number":   {query: "limit=ten", wantErr: true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := ParsePage(httptest.NewRequest(http.MethodGet, "/x?"+tc.query, nil))
			if (err != nil) != tc.wantErr || (!tc.wantErr && got != tc.want) {
				t.Fatalf("ParsePage(%q) = %v, %v", tc.query, got, err)
			}
		})
	}
	if got := (Page{Page: 3, Limit: 20}).Offset(); got != 40 {
		t.Fatalf("Offset = %d", got)
	}
	if l := NewList[int](nil, Page{1, 20}, 0); l.Items == nil {
		t.Fatal("NewList keeps a nil item slice")
	}
}
