// Package products is the HTTP function of /api/products: anyone lists and
// reads the catalog; sellers add products and, with admins, change, restock
// and delete them. Every change bumps the product's version and stores its
// PRODUCT_* event in the same single-document update (the outbox), then
// publishes it; relay-outbox sends what a crash left behind.
package products

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/knshop/knshop/lib/auth"
	"github.com/knshop/knshop/lib/catalog"
	"github.com/knshop/knshop/lib/events"
	"github.com/knshop/knshop/lib/fn"
	"github.com/knshop/knshop/lib/httpapi"
	"github.com/knshop/knshop/lib/ids"
	"github.com/knshop/knshop/lib/mongostore"
	"github.com/knshop/knshop/lib/outbox"
	"github.com/knshop/knshop/lib/settings"
	"github.com/knshop/knshop/lib/sink"
)

// Name is the function's name: its event source is /knshop/products.
const Name = "products"

// ErrNotOwner: a seller changing another seller's product.
var ErrNotOwner = errors.New("products: not the product's seller")

// errUnchanged stops a write that would change nothing.
var errUnchanged = errors.New("products: nothing changes")

// Config is what products reads at start.
type Config struct {
	Store    mongostore.Config
	Auth     auth.Config
	Sink     string // K_SINK
	Currency string // the shop's one currency (CURRENCY, default USD)
}

// ConfigFrom reads where the catalog lives (catalog.ConfigFrom), JWT_*,
// K_SINK and CURRENCY.
func ConfigFrom(cfg map[string]string) (Config, error) {
	s := settings.Of(cfg)
	c := Config{Store: settings.Read(s, catalog.ConfigFrom), Auth: settings.Read(s, auth.ConfigFrom),
		Sink: settings.Read(s, sink.URLFrom), Currency: strings.TrimSpace(cfg["CURRENCY"])}
	if c.Currency == "" {
		c.Currency = "USD"
	}
	if len(c.Currency) != 3 || strings.ToUpper(c.Currency) != c.Currency {
		s.Check(fmt.Errorf("CURRENCY %q is not an ISO 4217 code", c.Currency))
	}
	return c, s.Err("products: config")
}

// Function is the products HTTP function.
type Function struct {
	*auth.Routes // built by Start; its Handle serves the function
	cfg          Config
	store        *catalog.Store
	outbox       *outbox.Mongo
}

// New returns the function, unstarted.
func New() *Function { return &Function{} }

// Start reads the configuration, opens the catalog and builds the routes.
func (f *Function) Start(ctx context.Context, cfg map[string]string) error {
	c, err := ConfigFrom(cfg)
	if err != nil {
		return err
	}
	store, err := catalog.Open(ctx, c.Store)
	if err := fn.Use(ctx, store, err); err != nil {
		return fmt.Errorf("products: start: %w", err)
	}
	f.cfg, f.store = c, store
	f.outbox = outbox.NewMongo(store.Products(), sink.NewHTTP(c.Sink), fn.Logger(ctx))
	staff := []auth.Role{auth.Seller, auth.Admin}
	f.Routes = auth.NewRoutes(c.Auth)
	f.Public("GET /api/products", f.list)
	f.Public("GET /api/products/{id}", f.get)
	f.SignedIn("POST /api/products", f.create, staff...)
	f.SignedIn("PATCH /api/products/{id}", f.update, staff...)
	f.SignedIn("PUT /api/products/{id}/stock", f.setStock, staff...)
	f.SignedIn("DELETE /api/products/{id}", f.remove, staff...)
	return nil
}

func (f *Function) get(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !ids.Valid(id) {
		f.fail(w, r, catalog.ErrNotFound)
		return
	}
	p, err := f.store.Get(r.Context(), id)
	if err != nil {
		f.fail(w, r, err)
		return
	}
	httpapi.JSON(w, http.StatusOK, view(p))
}

func (f *Function) list(w http.ResponseWriter, r *http.Request) {
	q, page, err := parseQuery(r)
	if err != nil {
		f.fail(w, r, err)
		return
	}
	ps, total, err := f.store.List(r.Context(), q)
	if err != nil {
		f.fail(w, r, err)
		return
	}
	httpapi.WriteList(w, ps, view, page, total)
}

func (f *Function) create(w http.ResponseWriter, r *http.Request) {
	var req createRequest
	if err := httpapi.DecodeValid(w, r, &req, func() error { return req.validate(f.cfg.Currency) }); err != nil {
		f.fail(w, r, err)
		return
	}
	claims, _ := auth.FromContext(r.Context())
	p := req.product(ids.New(), claims.UserID, f.cfg.Currency, catalog.Now())
	ev, err := events.New(r.Context(), Name, events.ProductAddedData{
		ProductID: p.ID, SellerID: p.SellerID, Name: p.Name, Description: p.Description,
		Category: p.Category, Price: p.Price, Stock: p.Stock, Version: p.Version, AddedAt: p.CreatedAt,
	})
	if err != nil {
		f.fail(w, r, err)
		return
	}
	set, err := outbox.MongoSet(ev)
	if err != nil {
		f.fail(w, r, err)
		return
	}
	if err := f.store.Create(r.Context(), p, set); err != nil {
		f.fail(w, r, err)
		return
	}
	f.outbox.Publish(r.Context(), p.ID, ev)
	w.Header().Set("Location", "/api/products/"+p.ID)
	httpapi.JSON(w, http.StatusCreated, view(p))
}

func (f *Function) update(w http.ResponseWriter, r *http.Request) {
	var req patchRequest
	if err := httpapi.DecodeValid(w, r, &req, func() error { return req.validate(f.cfg.Currency) }); err != nil {
		f.fail(w, r, err)
		return
	}
	f.change(w, r, req.apply)
}

func (f *Function) setStock(w http.ResponseWriter, r *http.Request) {
	var req stockRequest
	if err := httpapi.DecodeValid(w, r, &req, func() error { return req.validate() }); err != nil {
		f.fail(w, r, err)
		return
	}
	f.change(w, r, req.apply)
}

func (f *Function) remove(w http.ResponseWriter, r *http.Request) {
	f.change(w, r, func(p *catalog.Product) []string {
		at := p.UpdatedAt
		p.DeletedAt = &at
		return []string{"deleted"}
	})
}

// change applies edit to the product of the path as its owner or an admin,
// with its event in the same update, publishes the event and answers. An
// edit that changes nothing answers the product as it is, with no event.
func (f *Function) change(w http.ResponseWriter, r *http.Request, edit func(p *catalog.Product) (changed []string)) {
	id := r.PathValue("id")
	if !ids.Valid(id) {
		f.fail(w, r, catalog.ErrNotFound)
		return
	}
	claims, _ := auth.FromContext(r.Context())
	var pending event.Event
	p, err := f.store.Modify(r.Context(), id, func(p *catalog.Product) (catalog.Extra, error) {
		if claims.Role != auth.Admin && p.SellerID != claims.UserID {
			return nil, ErrNotOwner
		}
		changed := edit(p)
		if len(changed) == 0 {
			return nil, errUnchanged
		}
		var err error
		if pending, err = events.New(r.Context(), Name, productEvent(*p, changed)); err != nil {
			return nil, err
		}
		return outbox.MongoSet(pending)
	})
	if errors.Is(err, errUnchanged) {
		f.get(w, r)
		return
	}
	if err != nil {
		f.fail(w, r, err)
		return
	}
	f.outbox.Publish(r.Context(), p.ID, pending)
	if p.DeletedAt != nil {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	httpapi.JSON(w, http.StatusOK, view(p))
}
