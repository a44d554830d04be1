// Package payments is the payments HTTP function: it shows a payment to
// its customer and to admins, and takes the gateways' webhooks, which
// settle a payment still PENDING (a charge that needed the card holder)
// once per webhook event, writing PAYMENT_SUCCESS or PAYMENT_FAILURE to the
// outbox in the same transaction.
package payments

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/knshop/knshop/lib/auth"
	"github.com/knshop/knshop/lib/fn"
	"github.com/knshop/knshop/lib/httpapi"
	"github.com/knshop/knshop/lib/money"
	"github.com/knshop/knshop/lib/payment"
	"github.com/knshop/knshop/lib/paymentstore"
	"github.com/knshop/knshop/lib/settings"
	"github.com/knshop/knshop/lib/sink"
	"github.com/knshop/knshop/lib/sqlstore"
)

// Name is the function's name: webhook events have source /knshop/payments.
const Name = "payments"

// maxWebhookBody bounds a webhook body, as every request body is bounded.
const maxWebhookBody = 1 << 20

// Config is what payments reads at start.
type Config struct {
	Store   sqlstore.Config
	Auth    auth.Config
	Payment payment.Config
	Sink    string // K_SINK: where the outbox publishes
}

// ConfigFrom reads where the payments database lives
// (paymentstore.ConfigFrom), the JWT_* keys, the gateway keys
// (PAYMENT_GATEWAY, STRIPE_*, SANDBOX_WEBHOOK_SECRET) and K_SINK (required).
func ConfigFrom(cfg map[string]string) (Config, error) {
	s := settings.Of(cfg)
	c := Config{Store: settings.Read(s, paymentstore.ConfigFrom), Auth: settings.Read(s, auth.ConfigFrom),
		Payment: settings.Read(s, payment.ConfigFrom), Sink: settings.Read(s, sink.URLFrom)}
	return c, s.Err("payments: config")
}

// Function is the payments HTTP function.
type Function struct {
	*auth.Routes // built by Start; its Handle serves the function
	cfg          Config
	store        *paymentstore.Store
	webhooks     map[string]payment.WebhookVerifier
}

// New returns an unstarted payments function.
func New() *Function { return &Function{} }

// Start reads the configuration, opens the payments database and builds
// the routes.
func (f *Function) Start(ctx context.Context, cfg map[string]string) error {
	c, err := ConfigFrom(cfg)
	if err != nil {
		return err
	}
	log := fn.Logger(ctx)
	st, err := paymentstore.Open(ctx, c.Store, sink.NewHTTP(c.Sink), log)
	if err := fn.Use(ctx, st, err); err != nil {
		return fmt.Errorf("payments: start: %w", err)
	}
	f.cfg, f.store, f.webhooks = c, st, payment.Webhooks(c.Payment)
	f.Routes = auth.NewRoutes(c.Auth)
	f.SignedIn("GET /api/payments", f.list, auth.Customer, auth.Admin)
	f.SignedIn("GET /api/payments/{id}", f.get, auth.Customer, auth.Admin)
	f.Public("POST /api/payments/webhooks/{gateway}", f.webhook)
	log.InfoContext(ctx, "payments started", "payment", c.Payment, "store", c.Store.String())
	return nil
}

// view is a payment as the API shows it: the method only as its describing
// words, never the token.
type view struct {
	ID            string      `json:"id"`
	OrderID       string      `json:"orderId"`
	Status        string      `json:"status"`
	Amount        money.Money `json:"amount"`
	Method        string      `json:"method"`
	Gateway       string      `json:"gateway"`
	TransactionID string      `json:"transactionId"`
	FailureCode   string      `json:"failureCode"`
	RefundID      string      `json:"refundId"`
	CreatedAt     time.Time   `json:"createdAt"`
	UpdatedAt     time.Time   `json:"updatedAt"`
}

func viewOf(p paymentstore.Payment) view {
	return view{
		ID: p.ID, OrderID: p.OrderID, Status: string(p.Status), Amount: p.Amount, Method: p.Method,
		Gateway: p.Gateway, TransactionID: p.TransactionID, FailureCode: p.FailureCode, RefundID: p.RefundID,
		CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt,
	}
}

// list answers the caller's payments (an admin's: everyone's), optionally
// of one order, newest first.
func (f *Function) list(w http.ResponseWriter, r *http.Request) {
	page, err := httpapi.ParsePage(r)
	if err != nil {
		f.fail(w, r, err)
		return
	}
	filter := paymentstore.Filter{OrderID: r.URL.Query().Get("orderId")}
	if c, _ := auth.FromContext(r.Context()); c.Role != auth.Admin {
		filter.CustomerID = c.UserID
	}
	items, total, err := f.store.List(r.Context(), filter, page.Limit, page.Offset())
	if err != nil {
		f.fail(w, r, err)
		return
	}
	httpapi.WriteList(w, items, viewOf, page, total)
}

// get answers one payment to its customer or an admin; to anyone else it
// does not exist.
func (f *Function) get(w http.ResponseWriter, r *http.Request) {
	p, err := f.store.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		f.fail(w, r, err)
		return
	}
	if c, _ := auth.FromContext(r.Context()); c.Role != auth.Admin && c.UserID != p.CustomerID {
		f.fail(w, r, paymentstore.ErrNotFound)
		return
	}
	httpapi.JSON(w, http.StatusOK, viewOf(p))
}

// webhook verifies a gateway's webhook and applies it once.
func (f *Function) webhook(w http.ResponseWriter, r *http.Request) {
	gateway := r.PathValue("gateway")
	v, ok := f.webhooks[gateway]
	if !ok {
		f.fail(w, r, errUnknownGateway)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxWebhookBody))
	if err != nil {
		f.fail(w, r, fmt.Errorf("%w: %v", payment.ErrBadWebhook, err))
		return
	}
	n, err := v.Verify(body, r.Header)
	if err != nil {
		f.fail(w, r, err)
		return
	}
	log := fn.Logger(r.Context()).With("gateway", gateway, "webhook_id", n.ID, "kind", n.Kind)
	if n.Kind == payment.Ignored {
		log.InfoContext(r.Context(), "webhook of a kind payments does not act on")
		httpapi.JSON(w, http.StatusOK, map[string]string{"result": "ignored"})
		return
	}
	o := paymentstore.Settlement{Status: paymentstore.Succeeded, TransactionID: n.TransactionID}
	if n.Kind == payment.ChargeFailed {
		o.Status, o.FailureCode, o.FailureReason = paymentstore.Failed, n.Code, n.Reason
	}
	res, err := f.store.ApplyWebhook(r.Context(), paymentstore.WebhookChange{
		Gateway: gateway, EventID: n.ID, PaymentID: n.PaymentID, TransactionID: n.TransactionID, Outcome: o,
		Build: func(p paymentstore.Payment) (event.Event, error) {
			return paymentstore.ChargeReply(r.Context(), Name, p, time.Now())
		},
	})
	if err != nil {
		f.fail(w, r, err)
		return
	}
	log.InfoContext(r.Context(), "webhook handled", "result", res)
	httpapi.JSON(w, http.StatusOK, map[string]string{"result": string(res)})
}

// errUnknownGateway: no webhook is configured under that gateway name.
var errUnknownGateway = errors.New("payments: no webhook for this gateway")

// fail maps the domain's errors onto problems, in this one place.
func (f *Function) fail(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, paymentstore.ErrNotFound):
		err = httpapi.NotFound("payment")
	case errors.Is(err, errUnknownGateway):
		err = httpapi.NotFound("webhook gateway")
	case errors.Is(err, payment.ErrBadSignature):
		err = httpapi.BadRequest("the webhook signature is missing or wrong")
	case errors.Is(err, payment.ErrBadWebhook):
		err = httpapi.BadRequest("the webhook body cannot be read")
	}
	httpapi.WriteError(w, r, fn.Logger(r.Context()), err)
}
