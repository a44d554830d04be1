package deliveries

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/knshop/knshop/lib/auth"
	"github.com/knshop/knshop/lib/deliverystore"
	"github.com/knshop/knshop/lib/events"
	"github.com/knshop/knshop/lib/httpapi"
	"github.com/knshop/knshop/lib/ids"
	"github.com/knshop/knshop/lib/partner"
)

// errForbidden: the caller may see the delivery but not change it.
var errForbidden = errors.New("deliveries: may not change this delivery")

// view is a delivery as the API shows it.
type view struct {
	ID             string                       `json:"id"`
	OrderID        string                       `json:"orderId"`
	Status         deliverystore.Status         `json:"status"`
	Partner        events.Partner               `json:"partner"`
	TrackingNumber *string                      `json:"trackingNumber"`
	History        []deliverystore.HistoryEntry `json:"history"`
	CreatedAt      time.Time                    `json:"createdAt"`
	UpdatedAt      time.Time                    `json:"updatedAt"`
}

func viewOf(d deliverystore.Delivery) view {
	v := view{ID: d.ID, OrderID: d.OrderID, Status: d.Status, Partner: d.Partner,
		History: d.History, CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt}
	if d.TrackingNumber != "" {
		v.TrackingNumber = &d.TrackingNumber
	}
	if v.History == nil {
		v.History = []deliverystore.HistoryEntry{}
	}
	return v
}

// sees reports whether the signed-in caller c may see d.
func sees(c auth.Claims, d deliverystore.Delivery) bool {
	switch c.Role {
	case auth.Admin:
		return true
	case auth.Courier:
		return d.CourierID != "" && d.CourierID == c.UserID
	}
	return d.CustomerID == c.UserID
}

func (f *Function) get(w http.ResponseWriter, r *http.Request) {
	d, err := f.store.Get(r.Context(), r.PathValue("id"))
	f.answerRead(w, r, d, err)
}

// list answers the deliveries the caller may see, newest first, narrowed
// to one order by ?orderId=: an admin sees all, a courier those assigned to
// them, anyone else those of their own orders.
func (f *Function) list(w http.ResponseWriter, r *http.Request) {
	page, err := httpapi.ParsePage(r)
	if err != nil {
		httpapi.WriteError(w, r, logger(r), err)
		return
	}
	c, ok := auth.FromContext(r.Context())
	if !ok {
		httpapi.WriteProblem(w, r, httpapi.Unauthorized("a valid access token is required"))
		return
	}
	filter := deliverystore.Filter{OrderID: r.URL.Query().Get("orderId")}
	switch c.Role {
	case auth.Admin:
	case auth.Courier:
		filter.CourierID = c.UserID
	default:
		filter.CustomerID = c.UserID
	}
	ds, total, err := f.store.List(r.Context(), filter, page.Offset(), page.Limit)
	if err != nil {
		httpapi.WriteError(w, r, logger(r), problem(err))
		return
	}
	httpapi.WriteList(w, ds, viewOf, page, total)
}

func (f *Function) answerRead(w http.ResponseWriter, r *http.Request, d deliverystore.Delivery, err error) {
	c, ok := auth.FromContext(r.Context())
	if !ok {
		// Only reachable if the route lost its auth middleware.
		httpapi.WriteProblem(w, r, httpapi.Unauthorized("a valid access token is required"))
		return
	}
	if err == nil && !sees(c, d) {
		err = deliverystore.ErrNotFound
	}
	if err != nil {
		httpapi.WriteError(w, r, logger(r), problem(err))
		return
	}
	httpapi.JSON(w, http.StatusOK, viewOf(d))
}

// stepRequest is the body of POST /api/deliveries/{id}/events.
type stepRequest struct {
	Status         deliverystore.Status `json:"status"`
	TrackingNumber string               `json:"trackingNumber"`
}

// trackingPattern is the tracking number's alphabet; its length (4 to 64)
// is checked apart, since a counted repeat compiles into hundreds of
// regexp states at every process start.
var trackingPattern = regexp.MustCompile(`^[A-Za-z0-9-]+$`)

func (req stepRequest) validate() error {
	var v httpapi.Validator
	v.Check(req.Status == deliverystore.Couriered || req.Status == deliverystore.Delivered,
		"status", "must be COURIERED or DELIVERED")
	v.Check(req.TrackingNumber == "" || (len(req.TrackingNumber) >= 4 && len(req.TrackingNumber) <= 64 && trackingPattern.MatchString(req.TrackingNumber)),
		"trackingNumber", "must be 4 to 64 letters, digits or dashes")
	return v.Err()
}

// step takes a status step. The caller is a partner when the request is
// signed, else the bearer of an access token.
func (f *Function) step(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, httpapi.MaxBodyBytes))
	if err != nil {
		httpapi.WriteProblem(w, r, httpapi.BadRequest("the body could not be read or is over 1 MiB"))
		return
	}
	allow, err := f.caller(r, body)
	if err != nil {
		w.Header().Set("WWW-Authenticate", `Bearer realm="knshop", error="invalid_token"`)
		httpapi.WriteError(w, r, logger(r), err)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	var req stepRequest
	if err := httpapi.DecodeValid(w, r, &req, func() error { return req.validate() }); err != nil {
		httpapi.WriteError(w, r, logger(r), err)
		return
	}
	id := r.PathValue("id")
	step := deliverystore.Step{To: req.Status, TrackingNumber: strings.ToUpper(req.TrackingNumber), At: time.Now().UTC()}
	if step.TrackingNumber == "" {
		step.TrackingNumber = trackingNumber(id)
	}
	ctx := r.Context()
	d, _, err := f.store.Advance(ctx, id, step, allow, func(d deliverystore.Delivery) (event.Event, error) {
		return stepEvent(r, d)
	})
	if err != nil {
		httpapi.WriteError(w, r, logger(r), problem(err))
		return
	}
	if d.Status == step.To && d.UpdatedAt.Before(step.At) {
		logger(r).InfoContext(ctx, "repeated delivery step; nothing changed, its event is published again", "delivery_id", d.ID, "status", d.Status)
	}
	httpapi.JSON(w, http.StatusAccepted, viewOf(d))
}

// caller authenticates a step request and returns the check it must pass
// against the delivery.
func (f *Function) caller(r *http.Request, body []byte) (func(deliverystore.Delivery) error, error) {
	if sig := r.Header.Get(partner.SignatureHeader); sig != "" {
		if !partner.Verify(f.cfg.PartnerSecret, body, sig) {
			return nil, httpapi.Unauthorized("the partner signature does not match")
		}
		return func(deliverystore.Delivery) error { return nil }, nil
	}
	c, err := f.Verifier().FromRequest(r)
	if err != nil {
		return nil, httpapi.Unauthorized("a valid access token or partner signature is required")
	}
	return func(d deliverystore.Delivery) error {
		switch {
		case c.Role == auth.Admin, c.Role == auth.Courier && sees(c, d):
			return nil
		case sees(c, d):
			return errForbidden
		}
		return deliverystore.ErrNotFound
	}, nil
}

// trackingNumber is the number a delivery gets when the partner sends none:
// derived from the delivery id, so a retried step computes the same one.
func trackingNumber(deliveryID string) string {
	return "KN" + strings.ToUpper(strings.ReplaceAll(ids.Derive(deliveryID, "tracking"), "-", "")[:12])
}

// stepEvent builds the event of the step d just took, with an id derived
// from the order, so the step has one event id however often it is taken.
func stepEvent(r *http.Request, d deliverystore.Delivery) (event.Event, error) {
	var data events.Data
	switch d.Status {
	case deliverystore.Couriered:
		data = events.DeliveryCourieredPartnerData{DeliveryID: d.ID, OrderID: d.OrderID, Partner: d.Partner,
			TrackingNumber: d.TrackingNumber, CourieredAt: d.UpdatedAt}
	case deliverystore.Delivered:
		data = events.DeliveryCompletedData{DeliveryID: d.ID, OrderID: d.OrderID, CompletedAt: d.UpdatedAt}
	default:
		return event.Event{}, fmt.Errorf("no event for status %s", d.Status)
	}
	e, err := events.New(r.Context(), Name, data)
	if err != nil {
		return event.Event{}, err
	}
	e.SetID(ids.Derive(d.OrderID, string(data.EventType())))
	return e, nil
}

// problem maps the domain's errors to HTTP problems, in one place.
func problem(err error) error {
	switch {
	case errors.Is(err, deliverystore.ErrNotFound):
		return httpapi.NotFound("delivery")
	case errors.Is(err, deliverystore.ErrCancelled):
		return httpapi.NewProblem(http.StatusConflict, partner.ProblemCancelled, "the delivery was cancelled with its order and takes no more steps")
	case errors.Is(err, deliverystore.ErrOutOfOrder):
		return httpapi.Conflict("the delivery cannot take this step now")
	case errors.Is(err, errForbidden):
		return httpapi.Forbidden("your role may not change this delivery")
	}
	return err
}
