package products

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/knshop/knshop/lib/catalog"
	"github.com/knshop/knshop/lib/events"
	"github.com/knshop/knshop/lib/fn"
	"github.com/knshop/knshop/lib/httpapi"
	"github.com/knshop/knshop/lib/money"
)

// Limits of product fields.
const (
	maxName        = 200
	maxDescription = 5000
	maxCategory    = 100
	maxImages      = 20
	maxImageURL    = 2048
	maxStock       = 1_000_000_000
	maxQuery       = 200
)

// Product is a product as the API shows it.
type Product struct {
	ID          string      `json:"id"`
	SellerID    string      `json:"sellerId"`
	Name        string      `json:"name"`
	Description string      `json:"description"`
	Category    string      `json:"category"`
	Price       money.Money `json:"price"`
	Stock       int64       `json:"stock"`
	Images      []string    `json:"images"`
	// Rating is the average and count of the product's visible reviews.
	Rating    catalog.Rating `json:"rating"`
	Version   int64          `json:"version"`
	CreatedAt time.Time      `json:"createdAt"`
	UpdatedAt time.Time      `json:"updatedAt"`
}

func view(p catalog.Product) Product {
	images := p.Images
	if images == nil {
		images = []string{}
	}
	return Product{ID: p.ID, SellerID: p.SellerID, Name: p.Name, Description: p.Description,
		Category: p.Category, Price: p.Price, Stock: p.Stock, Images: images, Rating: p.Rating, Version: p.Version,
		CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt}
}

// productEvent is PRODUCT_DELETED for a deleted product, else PRODUCT_UPDATED
// carrying the whole product as it now is and the names of what changed.
func productEvent(p catalog.Product, changed []string) events.Data {
	if p.DeletedAt != nil {
		return events.ProductDeletedData{ProductID: p.ID, Version: p.Version, DeletedAt: *p.DeletedAt}
	}
	return events.ProductUpdatedData{ProductID: p.ID, SellerID: p.SellerID, Changed: changed,
		Name: p.Name, Description: p.Description, Category: p.Category, Price: p.Price,
		Stock: p.Stock, Version: p.Version, UpdatedAt: p.UpdatedAt}
}

type createRequest struct {
	Name        string       `json:"name"`
	Description string       `json:"description"`
	Category    string       `json:"category"`
	Price       *money.Money `json:"price"`
	Stock       *int64       `json:"stock"`
	Images      []string     `json:"images"`
}

func (c *createRequest) validate(currency string) error {
	var v httpapi.Validator
	c.Name, c.Category, c.Description = strings.TrimSpace(c.Name), strings.TrimSpace(c.Category), strings.TrimSpace(c.Description)
	checkText(&v, "name", c.Name, maxName, true)
	checkText(&v, "description", c.Description, maxDescription, false)
	checkText(&v, "category", c.Category, maxCategory, true)
	v.Check(c.Price != nil, "price", "is required")
	checkPrice(&v, c.Price, currency)
	v.Check(c.Stock != nil, "stock", "is required")
	v.Check(c.Stock == nil || (*c.Stock >= 0 && *c.Stock <= maxStock), "stock", fmt.Sprintf("must be from 0 to %d", maxStock))
	checkImages(&v, c.Images)
	return v.Err()
}

func (c createRequest) product(id, sellerID, currency string, now time.Time) catalog.Product {
	images := c.Images
	if images == nil {
		images = []string{}
	}
	return catalog.Product{ID: id, SellerID: sellerID, Name: c.Name, Description: c.Description,
		Category: c.Category, Price: money.New(c.Price.Amount, currency), Stock: *c.Stock,
		Images: images, Version: 1, CreatedAt: now, UpdatedAt: now}
}

// patchRequest: a nil field is not sent and stays as it is.
type patchRequest struct {
	Name        *string      `json:"name"`
	Description *string      `json:"description"`
	Category    *string      `json:"category"`
	Price       *money.Money `json:"price"`
	Images      *[]string    `json:"images"`
}

func (c *patchRequest) validate(currency string) error {
	var v httpapi.Validator
	v.Check(c.Name != nil || c.Description != nil || c.Category != nil || c.Price != nil || c.Images != nil,
		"(body)", "names nothing to change")
	trim := func(s *string) {
		if s != nil {
			*s = strings.TrimSpace(*s)
		}
	}
	trim(c.Name)
	trim(c.Description)
	trim(c.Category)
	if c.Name != nil {
		checkText(&v, "name", *c.Name, maxName, true)
	}
	if c.Description != nil {
		checkText(&v, "description", *c.Description, maxDescription, false)
	}
	if c.Category != nil {
		checkText(&v, "category", *c.Category, maxCategory, true)
	}
	checkPrice(&v, c.Price, currency)
	if c.Images != nil {
		checkImages(&v, *c.Images)
	}
	return v.Err()
}

// apply edits p and names the fields whose value changed.
func (c patchRequest) apply(p *catalog.Product) []string {
	var changed []string
	set := func(name string, dst *string, src *string) {
		if src != nil && *src != *dst {
			*dst = *src
			changed = append(changed, name)
		}
	}
	set("name", &p.Name, c.Name)
	set("description", &p.Description, c.Description)
	set("category", &p.Category, c.Category)
	if c.Price != nil && c.Price.Amount != p.Price.Amount {
		p.Price.Amount = c.Price.Amount
		changed = append(changed, "price")
	}
	if c.Images != nil && !slices.Equal(*c.Images, p.Images) {
		p.Images = append([]string{}, *c.Images...)
		changed = append(changed, "images")
	}
	return changed
}

type stockRequest struct {
	Stock *int64 `json:"stock"`
}

func (c stockRequest) validate() error {
	var v httpapi.Validator
	v.Check(c.Stock != nil, "stock", "is required")
	v.Check(c.Stock == nil || (*c.Stock >= 0 && *c.Stock <= maxStock), "stock", fmt.Sprintf("must be from 0 to %d", maxStock))
	return v.Err()
}

func (c stockRequest) apply(p *catalog.Product) []string {
	if p.Stock == *c.Stock {
		return nil
	}
	p.Stock = *c.Stock
	return []string{"stock"}
}

func checkText(v *httpapi.Validator, field, s string, limit int, required bool) {
	v.Check(!required || s != "", field, "is required")
	v.Check(utf8.RuneCountInString(s) <= limit, field, fmt.Sprintf("must be at most %d characters", limit))
}

func checkPrice(v *httpapi.Validator, p *money.Money, currency string) {
	if p == nil {
		return
	}
	v.Check(p.Amount >= 0, "price.amount", "must not be negative")
	v.Check(p.Amount <= money.MaxPrice, "price.amount", fmt.Sprintf("must be at most %d", money.MaxPrice))
	v.Check(p.Currency == "" || p.Currency == currency, "price.currency", "must be "+currency+", the shop's currency")
}

func checkImages(v *httpapi.Validator, images []string) {
	v.Check(len(images) <= maxImages, "images", fmt.Sprintf("must be at most %d", maxImages))
	for i, s := range images {
		u, err := url.Parse(s)
		ok := err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" && len(s) <= maxImageURL
		v.Check(ok, fmt.Sprintf("images[%d]", i), "must be an http(s) URL")
	}
}

// sorts are the orders the list route takes.
var sorts = []string{catalog.SortPrice, catalog.SortPriceDesc, catalog.SortName, catalog.SortNewest, catalog.SortRating}

// parseQuery reads the list route's query, reporting every bad parameter.
func parseQuery(r *http.Request) (catalog.Query, httpapi.Page, error) {
	var v httpapi.Validator
	page, err := httpapi.ParsePage(r)
	var pp *httpapi.Problem
	if errors.As(err, &pp) {
		for _, fe := range pp.Errors {
			v.Check(false, fe.Field, fe.Message)
		}
	}
	in := r.URL.Query()
	q := catalog.Query{Text: strings.TrimSpace(in.Get("q")), Category: strings.TrimSpace(in.Get("category")), Sort: in.Get("sort"),
		SellerID: strings.TrimSpace(in.Get("sellerId")),
		Offset:   page.Offset(), Limit: page.Limit}
	v.Check(utf8.RuneCountInString(q.Text) <= maxQuery, "q", fmt.Sprintf("must be at most %d characters", maxQuery))
	price := func(field string) *int64 {
		s := in.Get(field)
		if s == "" {
			return nil
		}
		n, err := strconv.ParseInt(s, 10, 64)
		v.Check(err == nil && n >= 0, field, "must be a whole amount in minor units, 0 or more")
		return &n
	}
	q.MinPrice, q.MaxPrice = price("minPrice"), price("maxPrice")
	v.Check(q.MinPrice == nil || q.MaxPrice == nil || *q.MinPrice <= *q.MaxPrice, "maxPrice", "must not be below minPrice")
	if s := in.Get("minRating"); s != "" {
		n, err := strconv.ParseFloat(s, 64)
		v.Check(err == nil && n >= 0 && n <= 5, "minRating", "must be a number from 0 to 5")
		q.MinRating = &n
	}
	if s := in.Get("inStock"); s != "" {
		b, err := strconv.ParseBool(s)
		v.Check(err == nil, "inStock", "must be true or false")
		q.InStock = b
	}
	v.Check(q.Sort == "" || slices.Contains(sorts, q.Sort), "sort", "must be one of "+strings.Join(sorts, ", "))
	if err := v.Err(); err != nil {
		return catalog.Query{}, httpapi.Page{}, err
	}
	return q, page, nil
}

// fail maps an error onto the answer: the one place domain errors meet
// HTTP statuses.
func (f *Function) fail(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, catalog.ErrNotFound):
		err = httpapi.NotFound("product")
	case errors.Is(err, ErrNotOwner):
		err = httpapi.Forbidden("only the product's seller or an admin may change it")
	case errors.Is(err, catalog.ErrConflict):
		err = httpapi.Conflict("the product is changing right now; try again")
	}
	httpapi.WriteError(w, r, fn.Logger(r.Context()), err)
}
