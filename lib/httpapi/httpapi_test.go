package httpapi

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
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
			if tc.wantField != "" && (len(p.Errors) != 1 || p.Errors[0].Field != tc.wantField) {
				t.Fatalf("problem errors = %+v, want field %q", p.Errors, tc.wantField)
			}
		})
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
