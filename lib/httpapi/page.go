package httpapi

import (
	"net/http"
	"strconv"
)

// Pagination limits.
const (
	DefaultLimit = 20
	MaxLimit     = 100
	// MaxPage bounds page so that the offset (page-1)*limit can never
	// overflow anywhere it is used (an SQL OFFSET, a MongoDB skip).
	MaxPage = 10_000_000
)

// Page is a validated ?page=&limit= pair; Page counts from 1.
type Page struct {
	Page  int
	Limit int
}

// Offset is the number of items before this page.
func (p Page) Offset() int { return (p.Page - 1) * p.Limit }

// List is the answer of every list route.
type List[T any] struct {
	Items []T `json:"items"`
	Page  int `json:"page"`
	Limit int `json:"limit"`
	Total int `json:"total"`
}

// NewList builds the list answer for one page; items is never null.
func NewList[T any](items []T, p Page, total int) List[T] {
	if items == nil {
		items = []T{}
	}
	return List[T]{Items: items, Page: p.Page, Limit: p.Limit, Total: total}
}

// ParsePage reads page and limit from r's query: 1 ≤ page ≤ MaxPage,
// 1 ≤ limit ≤ 100.
func ParsePage(r *http.Request) (Page, error) {
	p := Page{Page: 1, Limit: DefaultLimit}
	var errs []FieldError
	q := r.URL.Query()
	if s := q.Get("page"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > MaxPage {
			errs = append(errs, FieldError{Field: "page", Message: "must be an integer from 1 to 10000000"})
		}
		p.Page = n
	}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > MaxLimit {
			errs = append(errs, FieldError{Field: "limit", Message: "must be an integer from 1 to 100"})
		}
		p.Limit = n
	}
	if errs != nil {
		return Page{}, Invalid(errs...)
	}
	return p, nil
}

// WriteList answers 200 with one page of items, each as view shows it (an
// API's own type, never a store row).
func WriteList[T, V any](w http.ResponseWriter, items []T, view func(T) V, p Page, total int) {
	views := make([]V, 0, len(items))
	for _, it := range items {
		views = append(views, view(it))
	}
	JSON(w, http.StatusOK, NewList(views, p, total))
}
