// Package admin is the admin HTTP function, the operations area: admins
// list the dead-lettered events and send one back to the Broker; anyone
// reads the OpenAPI document of the whole API.
package admin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/knshop/knshop/lib/auth"
	"github.com/knshop/knshop/lib/deadletter"
	"github.com/knshop/knshop/lib/fn"
	"github.com/knshop/knshop/lib/httpapi"
	"github.com/knshop/knshop/lib/openapi"
	"github.com/knshop/knshop/lib/opsdb"
	"github.com/knshop/knshop/lib/settings"
	"github.com/knshop/knshop/lib/sink"
	"github.com/knshop/knshop/lib/sqlstore"
	"github.com/knshop/knshop/lib/timeline"
)

// Config is what admin reads at start.
type Config struct {
	Store sqlstore.Config // the dead letters and the order timeline
	Auth  auth.Config
	Sink  string // K_SINK: where replayed events go
}

// ConfigFrom reads MYSQL_DSN (the dead letters and the order timeline),
// KNSHOP_SERIALIZE_DB, the JWT_* keys and K_SINK.
func ConfigFrom(cfg map[string]string) (Config, error) {
	s := settings.Of(cfg)
	c := Config{Store: settings.Read(s, opsdb.ConfigFrom), Auth: settings.Read(s, auth.ConfigFrom), Sink: settings.Read(s, sink.URLFrom)}
	return c, s.Err("admin: config")
}

// Function is the admin HTTP function.
type Function struct {
	*auth.Routes // built by Start; its Handle serves the function
	store        *deadletter.Store
	timeline     *timeline.Store
	sink         sink.Sender
}

// New returns an unstarted admin function.
func New() *Function { return &Function{} }

// Start reads the configuration, opens the operations database and builds
// the routes.
func (f *Function) Start(ctx context.Context, cfg map[string]string) error {
	return fn.StartFrom(ctx, cfg, ConfigFrom, f.startWith)
}

func (f *Function) startWith(ctx context.Context, c Config) error {
	doc, err := openapi.JSON()
	if err != nil {
		return fmt.Errorf("admin: start: %w", err)
	}
	// One pool for the operations database's two stores: the dead letters'
	// store owns it (and closes it), the timeline reads through it.
	db, err := sqlstore.Open(ctx, c.Store, opsdb.Migrations)
	if err != nil {
		return fmt.Errorf("admin: start: %w", err)
	}
	store := deadletter.New(db)
	if err := fn.Use(ctx, store, nil); err != nil {
		return fmt.Errorf("admin: start: %w", err)
	}
	f.store, f.timeline, f.sink = store, timeline.New(db), sink.NewHTTP(c.Sink)
	f.Routes = auth.NewRoutes(c.Auth)
	f.SignedIn("GET /api/admin/dead-letters", f.list, auth.Admin)
	f.SignedIn("POST /api/admin/dead-letters/{id}/replay", f.replay, auth.Admin)
	f.SignedIn("GET /api/admin/orders/{id}/timeline", f.orderTimeline, auth.Admin)
	f.Public("GET /api/openapi.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "public, max-age=300")
		if _, err := w.Write(doc); err != nil {
			fn.Logger(r.Context()).DebugContext(r.Context(), "writing the OpenAPI document failed", "error", err)
		}
	})
	return nil
}

// letterView is a dead letter as the API shows it: the failed event as it
// was sent (structured JSON, without the knativeerror* extensions) and the
// extensions, the error data decoded to text.
type letterView struct {
	ID               string      `json:"id"`
	EventID          string      `json:"eventId"`
	Type             string      `json:"type"`
	Source           string      `json:"source"`
	KnativeErrorDest string      `json:"knativeerrordest"`
	KnativeErrorCode *int        `json:"knativeerrorcode"`
	KnativeErrorData string      `json:"knativeerrordata"`
	Arrivals         int         `json:"arrivals"`
	ReceivedAt       time.Time   `json:"receivedAt"`
	ReplayedAt       *time.Time  `json:"replayedAt"`
	Event            event.Event `json:"event"`
}

func viewOf(l deadletter.Letter) letterView {
	v := letterView{ID: l.ID, EventID: l.Event.ID(), Type: l.Event.Type(), Source: l.Event.Source(),
		KnativeErrorDest: l.ErrorDest, KnativeErrorData: l.ErrorData, Arrivals: l.Arrivals,
		ReceivedAt: l.ReceivedAt, ReplayedAt: l.ReplayedAt, Event: l.Original()}
	if l.ErrorCode != 0 {
		code := l.ErrorCode
		v.KnativeErrorCode = &code
	}
	return v
}

func (f *Function) list(w http.ResponseWriter, r *http.Request) {
	page, err := httpapi.ParsePage(r)
	if err != nil {
		httpapi.WriteError(w, r, fn.Logger(r.Context()), err)
		return
	}
	letters, total, err := f.store.List(r.Context(), page.Offset(), page.Limit)
	if err != nil {
		httpapi.WriteError(w, r, fn.Logger(r.Context()), problem(err))
		return
	}
	httpapi.WriteList(w, letters, viewOf, page, total)
}

// replay records when, then sends the letter's original event, same id,
// back to the Broker. The mark comes first: the replayed event may fail
// again and come back before this request ends, and only a letter marked
// replayed takes that arrival (deadletter.Store.Add). A send that fails
// takes the mark back, unless that arrival came meanwhile. Consumers are
// idempotent, so a replay of an event some subscribers did handle only
// redoes nothing there.
func (f *Function) replay(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	log := fn.Logger(ctx)
	l, err := f.store.Get(ctx, r.PathValue("id"))
	now := time.Now().UTC().Truncate(time.Microsecond) // as DATETIME(6) keeps it, for UnmarkReplayed's match
	if err == nil {
		err = f.store.MarkReplayed(ctx, l.ID, now)
	}
	if err == nil {
		if err = f.sink.Send(ctx, l.Original()); err != nil {
			err = fmt.Errorf("%w: %w", errBrokerDown, err)
			if uerr := f.store.UnmarkReplayed(context.WithoutCancel(ctx), l.ID, now, l.ReplayedAt); uerr != nil {
				err = errors.Join(err, uerr)
			}
		}
		l.ReplayedAt = &now
	}
	if errors.Is(err, errBrokerDown) {
		log.WarnContext(ctx, "replay failed", "letter_id", l.ID, "error", err)
	}
	if err != nil {
		httpapi.WriteError(w, r, log, problem(err))
		return
	}
	log.InfoContext(ctx, "dead letter replayed", "letter_id", l.ID, "event_id", l.Event.ID(), "type", l.Event.Type())
	httpapi.JSON(w, http.StatusAccepted, viewOf(l))
}

// timelineView is an order's timeline as the API shows it.
type timelineView struct {
	OrderID string              `json:"orderId"`
	Entries []timelineEntryView `json:"entries"`
}

type timelineEntryView struct {
	At      time.Time      `json:"at"`
	Kind    timeline.Kind  `json:"kind"`
	Type    string         `json:"type"`
	EventID string         `json:"eventId"`
	Source  string         `json:"source"`
	Detail  map[string]any `json:"detail"`
}

// orderTimeline answers the order's whole life, oldest first.
func (f *Function) orderTimeline(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	entries, err := f.timeline.ForOrder(r.Context(), id)
	if errors.Is(err, timeline.ErrNotFound) {
		err = httpapi.NotFound("order timeline")
	}
	if err != nil {
		httpapi.WriteError(w, r, fn.Logger(r.Context()), err)
		return
	}
	v := timelineView{OrderID: id, Entries: make([]timelineEntryView, 0, len(entries))}
	for _, e := range entries {
		v.Entries = append(v.Entries, timelineEntryView{At: e.At, Kind: e.Kind, Type: e.Type, EventID: e.EventID, Source: e.Source, Detail: e.Detail})
	}
	httpapi.JSON(w, http.StatusOK, v)
}

// errBrokerDown: the Broker did not take the replayed event.
var errBrokerDown = errors.New("admin: the broker did not take the event")

// problem maps the operations domain's errors to HTTP problems.
func problem(err error) error {
	switch {
	case errors.Is(err, deadletter.ErrNotFound):
		return httpapi.NotFound("dead letter")
	case errors.Is(err, errBrokerDown):
		// The cause is logged by replay; the client learns only to retry.
		return httpapi.NewProblem(http.StatusBadGateway, "broker-unavailable",
			"the broker did not take the event; try again")
	}
	return err
}
