// Package reviews is the HTTP function of product reviews: a customer who
// received a product (record-purchase keeps who bought what) reviews it
// once; anyone reads a product's visible reviews; the author or an admin
// edits and deletes; an admin hides. Each change writes its REVIEW_* event
// into the review document's outbox in the same update and publishes it
// after; rate-product keeps the product's rating from those events.
package reviews

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/knshop/knshop/lib/auth"
	"github.com/knshop/knshop/lib/catalog"
	"github.com/knshop/knshop/lib/events"
	"github.com/knshop/knshop/lib/fn"
	"github.com/knshop/knshop/lib/httpapi"
	"github.com/knshop/knshop/lib/ids"
	"github.com/knshop/knshop/lib/outbox"
	"github.com/knshop/knshop/lib/settings"
	"github.com/knshop/knshop/lib/sink"
)

// Name is the function's name, and the source of its events.
const Name = "reviews"

// Limits of a review.
const (
	maxTitle = 200
	maxBody  = 5000
)

// Function is the reviews HTTP function.
type Function struct {
	*auth.Routes // built by Start; its Handle serves the function
	store        *catalog.Store
	outbox       *outbox.Mongo
	now          func() time.Time
}

// New returns the function, unstarted.
func New() *Function { return &Function{now: catalog.Now} }

// Start reads the configuration (auth keys, K_SINK) and opens the catalog,
// where reviews live, with the reviews' outbox.
func (f *Function) Start(ctx context.Context, cfg map[string]string) (err error) {
	s := settings.Of(cfg)
	ac, url := settings.Read(s, auth.ConfigFrom), settings.Read(s, sink.URLFrom)
	if err := s.Err("reviews: config"); err != nil {
		return err
	}
	f.store, err = catalog.OpenFrom(ctx, cfg)
	if err := fn.Use(ctx, f.store, err); err != nil {
		return fmt.Errorf("reviews: start: %w", err)
	}
	f.outbox = outbox.NewMongo(f.store.Reviews(), sink.NewHTTP(url), fn.Logger(ctx))
	f.Routes = auth.NewRoutes(ac)
	f.Public("GET /api/products/{id}/reviews", f.list)
	f.SignedIn("POST /api/products/{id}/reviews", f.add, auth.Customer)
	f.SignedIn("PATCH /api/reviews/{id}", f.edit)
	f.SignedIn("DELETE /api/reviews/{id}", f.remove)
	f.SignedIn("POST /api/reviews/{id}/hide", f.hide, auth.Admin)
	return nil
}

// reviewView is a review as the API shows it (the OpenAPI schema Review).
type reviewView struct {
	ID         string    `json:"id"`
	ProductID  string    `json:"productId"`
	AuthorID   string    `json:"authorId"`
	AuthorName string    `json:"authorName"`
	Rating     int64     `json:"rating"`
	Title      string    `json:"title"`
	Body       string    `json:"body"`
	CreatedAt  time.Time `json:"createdAt"`
	UpdatedAt  time.Time `json:"updatedAt"`
}

func viewOf(r catalog.Review) reviewView {
	return reviewView{ID: r.ID, ProductID: r.ProductID, AuthorID: r.AuthorID, AuthorName: r.AuthorName,
		Rating: r.Rating, Title: r.Title, Body: r.Body, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

type addRequest struct {
	Rating int64  `json:"rating"`
	Title  string `json:"title,omitempty"`
	Body   string `json:"body,omitempty"`
}

type editRequest struct {
	Rating *int64  `json:"rating,omitempty"`
	Title  *string `json:"title,omitempty"`
	Body   *string `json:"body,omitempty"`
}

func checkReview(v *httpapi.Validator, rating int64, title, body string) {
	v.Check(rating >= 1 && rating <= 5, "rating", "must be an integer from 1 to 5")
	v.Check(utf8.RuneCountInString(title) <= maxTitle, "title", fmt.Sprintf("at most %d characters", maxTitle))
	v.Check(utf8.RuneCountInString(body) <= maxBody, "body", fmt.Sprintf("at most %d characters", maxBody))
}

func (f *Function) add(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	c, _ := auth.FromContext(ctx)
	var req addRequest
	if err := httpapi.Decode(w, r, &req); err != nil {
		f.fail(w, r, err)
		return
	}
	var v httpapi.Validator
	checkReview(&v, req.Rating, req.Title, req.Body)
	if err := v.Err(); err != nil {
		f.fail(w, r, err)
		return
	}
	product, err := f.product(r)
	if err != nil {
		f.fail(w, r, err)
		return
	}
	at := f.now()
	rev := catalog.Review{ID: ids.New(), ProductID: product.ID, AuthorID: c.UserID, Rating: req.Rating,
		Title: strings.TrimSpace(req.Title), Body: req.Body, CreatedAt: at, UpdatedAt: at, Revision: 1, Visible: true}
	e, err := events.New(ctx, Name, events.ReviewAddedData{ReviewID: rev.ID, ProductID: rev.ProductID,
		AuthorID: rev.AuthorID, Rating: rev.Rating, Revision: 1, AddedAt: at})
	if err != nil {
		f.fail(w, r, err)
		return
	}
	e.SetID(ids.Derive(rev.ID, string(events.ReviewAdded)))
	set, err := outbox.MongoSet(e)
	if err != nil {
		f.fail(w, r, err)
		return
	}
	rev, err = f.store.AddReview(ctx, rev, set)
	if err != nil {
		f.fail(w, r, err)
		return
	}
	f.outbox.Publish(ctx, rev.ID, e)
	w.Header().Set("Location", "/api/reviews/"+rev.ID)
	httpapi.JSON(w, http.StatusCreated, viewOf(rev))
}

// product is the live product of the path, or catalog.ErrNotFound.
func (f *Function) product(r *http.Request) (catalog.Product, error) {
	id := r.PathValue("id")
	if !ids.Valid(id) {
		return catalog.Product{}, catalog.ErrNotFound
	}
	return f.store.Get(r.Context(), id)
}

var reviewSorts = []string{catalog.ReviewSortNewest, catalog.ReviewSortRating}

func (f *Function) list(w http.ResponseWriter, r *http.Request) {
	page, err := httpapi.ParsePage(r)
	if err != nil {
		f.fail(w, r, err)
		return
	}
	sort := r.URL.Query().Get("sort")
	if sort != "" && !slices.Contains(reviewSorts, sort) {
		f.fail(w, r, httpapi.Invalid(httpapi.FieldError{Field: "sort", Message: "must be one of " + strings.Join(reviewSorts, ", ")}))
		return
	}
	product, err := f.product(r)
	if err != nil {
		f.fail(w, r, err)
		return
	}
	list, total, err := f.store.ListReviews(r.Context(), product.ID, sort, page.Offset(), page.Limit)
	if err != nil {
		f.fail(w, r, err)
		return
	}
	httpapi.WriteList(w, list, viewOf, page, total)
}

func (f *Function) edit(w http.ResponseWriter, r *http.Request) {
	var req editRequest
	if err := httpapi.Decode(w, r, &req); err != nil {
		f.fail(w, r, err)
		return
	}
	if req.Rating == nil && req.Title == nil && req.Body == nil {
		f.fail(w, r, httpapi.Invalid(httpapi.FieldError{Field: "rating", Message: "give at least one of rating, title and body"}))
		return
	}
	rev, err := f.change(w, r, false, func(rev *catalog.Review) error {
		if req.Rating != nil {
			rev.Rating = *req.Rating
		}
		if req.Title != nil {
			rev.Title = strings.TrimSpace(*req.Title)
		}
		if req.Body != nil {
			rev.Body = *req.Body
		}
		var v httpapi.Validator
		checkReview(&v, rev.Rating, rev.Title, rev.Body)
		return v.Err()
	})
	if err == nil {
		httpapi.JSON(w, http.StatusOK, viewOf(rev))
	}
}

func (f *Function) remove(w http.ResponseWriter, r *http.Request) {
	if _, err := f.change(w, r, false, func(rev *catalog.Review) error { rev.Deleted = true; return nil }); err == nil {
		w.WriteHeader(http.StatusNoContent)
	}
}

func (f *Function) hide(w http.ResponseWriter, r *http.Request) {
	if rev, err := f.change(w, r, true, func(rev *catalog.Review) error { rev.Visible = false; return nil }); err == nil {
		httpapi.JSON(w, http.StatusOK, viewOf(rev))
	}
}

// change applies edit to the review of the path when the caller may (its
// author, an admin; adminOnly for hiding), with the event announcing it in
// the same update, publishes the event, and answers problems itself: a
// non-nil error has been written.
func (f *Function) change(w http.ResponseWriter, r *http.Request, adminOnly bool, edit func(*catalog.Review) error) (catalog.Review, error) {
	ctx := r.Context()
	c, _ := auth.FromContext(ctx)
	var e event.Event
	rev, err := f.store.ChangeReview(ctx, r.PathValue("id"), func(rev *catalog.Review) (catalog.Extra, error) {
		if rev.AuthorID != c.UserID && c.Role != auth.Admin {
			return nil, catalog.ErrNotFound // another's review: as if missing
		}
		if adminOnly && c.Role != auth.Admin {
			return nil, httpapi.Forbidden("only an admin hides reviews")
		}
		if err := edit(rev); err != nil {
			return nil, err
		}
		rev.UpdatedAt = f.now()
		var err error
		if e, err = reviewEvent(ctx, *rev, rev.Revision+1); err != nil {
			return nil, err
		}
		return outbox.MongoSet(e)
	})
	if err != nil {
		f.fail(w, r, err)
		return catalog.Review{}, err
	}
	f.outbox.Publish(ctx, rev.ID, e)
	return rev, nil
}

// reviewEvent announces rev as of revision: REVIEW_DELETED for a deleted
// review, else REVIEW_UPDATED. Its id derives from the review and the
// revision, so a rebuild of the same change has the same id.
func reviewEvent(ctx context.Context, rev catalog.Review, revision int64) (event.Event, error) {
	var d events.Data = events.ReviewUpdatedData{ReviewID: rev.ID, ProductID: rev.ProductID, Rating: rev.Rating,
		Visible: rev.Visible, Revision: revision, UpdatedAt: rev.UpdatedAt}
	if rev.Deleted {
		d = events.ReviewDeletedData{ReviewID: rev.ID, ProductID: rev.ProductID, DeletedAt: rev.UpdatedAt}
	}
	e, err := events.New(ctx, Name, d)
	if err != nil {
		return event.Event{}, err
	}
	e.SetID(ids.Derive(rev.ID, fmt.Sprintf("%s/%d", d.EventType(), revision)))
	return e, nil
}

// fail maps the reviews domain's errors onto problems, in one place.
func (f *Function) fail(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, catalog.ErrNotBuyer):
		err = httpapi.Forbidden("only a customer who received the product may review it")
	case errors.Is(err, catalog.ErrAlreadyReviewed):
		err = httpapi.Conflict("you have already reviewed this product; edit that review instead")
	case errors.Is(err, catalog.ErrNotFound) && strings.Contains(r.URL.Path, "/api/products/"):
		err = httpapi.NotFound("product")
	case errors.Is(err, catalog.ErrNotFound):
		err = httpapi.NotFound("review")
	case errors.Is(err, catalog.ErrConflict):
		err = httpapi.Conflict("the review changed meanwhile; try again")
	}
	httpapi.WriteError(w, r, fn.Logger(r.Context()), err)
}
