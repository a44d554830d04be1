package payments

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v82/webhook"

	"github.com/knshop/knshop/lib/auth"
	"github.com/knshop/knshop/lib/auth/authtest"
	"github.com/knshop/knshop/lib/events"
	"github.com/knshop/knshop/lib/ids"
	"github.com/knshop/knshop/lib/money"
	"github.com/knshop/knshop/lib/payment"
	"github.com/knshop/knshop/lib/paymentstore"
	"github.com/knshop/knshop/lib/paymentstore/paymentstoretest"
	"github.com/knshop/knshop/lib/sqlstore"
	"github.com/knshop/knshop/lib/storetest"
)

const (
	sandboxSecret = "sbx-test-secret"
	stripeSecret  = "whsec_test_secret"
)

type harness struct {
	f    *Function
	url  string // the server the function runs behind
	keys *authtest.Keys
	sink *storetest.EventRecorder
}

func start(t *testing.T, sc sqlstore.Config) harness {
	t.Helper()
	keys := authtest.New(t)
	extra := map[string]string{"SANDBOX_WEBHOOK_SECRET": sandboxSecret, "STRIPE_WEBHOOK_SECRET": stripeSecret}
	maps.Copy(extra, keys.Env)
	cfg, rec := paymentstoretest.Env(t, sc, extra)
	f := New()
	return harness{f: f, url: storetest.ServeFunction(t, Name, f, cfg), keys: keys, sink: rec}
}

// seed records a payment of customer for a new order, settled to status
// (PENDING stays with transaction id tx).
func (h harness) seed(t *testing.T, customer string, status paymentstore.Status, tx string) paymentstore.Payment {
	t.Helper()
	orderID := ids.New()
	p := paymentstore.Payment{
		ID: ids.Derive(orderID, "payment"), OrderID: orderID, CustomerID: customer, Amount: money.New(4200, "USD"),
		Method: payment.Describe(payment.TokenVisa), Gateway: "sandbox",
		ShippingAddress: events.Address{Line1: "1 Main St", City: "Springfield", PostalCode: "12345", Country: "US"},
	}
	return paymentstoretest.Seed(t, h.f.store, p, status, tx)
}

func (h harness) do(t *testing.T, method, path, bearer string, body []byte, header http.Header) (int, []byte) {
	t.Helper()
	var pairs []string
	for k := range header {
		pairs = append(pairs, k, header.Get(k))
	}
	a := storetest.Call(t, method, h.url+path, bearer, string(body), pairs...)
	return a.Status, a.Body
}

func TestReadRoutes(t *testing.T) {
	storetest.OnEachMySQL(t, func(t *testing.T, engine storetest.Engine) {
		h := start(t, engine.Config(t, paymentstore.Database))
		alice, bob := ids.New(), ids.New()
		mine := h.seed(t, alice, paymentstore.Succeeded, "sbx_ch_a")
		h.seed(t, alice, paymentstore.Failed, "sbx_ch_b")
		theirs := h.seed(t, bob, paymentstore.Succeeded, "sbx_ch_c")
		cases := map[string]struct {
			path, bearer string
			wantStatus   int
			wantIDs      []string
		}{
			"owner reads own payment":           {"/api/payments/" + mine.ID, h.keys.Bearer(t, alice, auth.Customer), 200, []string{mine.ID}},
			"admin reads any payment":           {"/api/payments/" + theirs.ID, h.keys.Bearer(t, ids.New(), auth.Admin), 200, []string{theirs.ID}},
			"another customer's payment is 404": {"/api/payments/" + theirs.ID, h.keys.Bearer(t, alice, auth.Customer), 404, nil},
			"unknown payment is 404":            {"/api/payments/" + ids.New(), h.keys.Bearer(t, alice, auth.Customer), 404, nil},
			"seller may not read payments":      {"/api/payments/" + mine.ID, h.keys.Bearer(t, alice, auth.Seller), 403, nil},
			"courier may not list payments":     {"/api/payments", h.keys.Bearer(t, alice, auth.Courier), 403, nil},
			"no token is 401":                   {"/api/payments/" + mine.ID, "", 401, nil},
			"forged token is 401":               {"/api/payments/" + mine.ID, "Bearer not.a.jwt", 401, nil},
			"owner lists by order":              {"/api/payments?orderId=" + mine.OrderID, h.keys.Bearer(t, alice, auth.Customer), 200, []string{mine.ID}},
			"owner lists own payments only":     {"/api/payments", h.keys.Bearer(t, alice, auth.Customer), 200, []string{"", ""}},
			"another customer's order is empty": {"/api/payments?orderId=" + theirs.OrderID, h.keys.Bearer(t, alice, auth.Customer), 200, []string{}},
			"admin lists everything":            {"/api/payments", h.keys.Bearer(t, ids.New(), auth.Admin), 200, []string{"", "", ""}},
			"limit over 100 is 400":             {"/api/payments?limit=101", h.keys.Bearer(t, alice, auth.Customer), 400, nil},
		}
		for name, tc := range cases {
			t.Run(name, func(t *testing.T) {
				status, body := h.do(t, http.MethodGet, tc.path, tc.bearer, nil, nil)
				if status != tc.wantStatus {
					t.Fatalf("status %d, want %d: %s", status, tc.wantStatus, body)
				}
				if status != 200 {
					return
				}
				var got []map[string]any
				if strings.Contains(tc.path, "/api/payments/") {
					var one map[string]any
					if err := json.Unmarshal(body, &one); err != nil {
						t.Fatal(err)
					}
					got = []map[string]any{one}
				} else {
					var list struct {
						Items []map[string]any `json:"items"`
						Total int              `json:"total"`
					}
					if err := json.Unmarshal(body, &list); err != nil {
						t.Fatal(err)
					}
					if list.Total != len(tc.wantIDs) {
						t.Fatalf("total %d, want %d", list.Total, len(tc.wantIDs))
					}
					got = list.Items
				}
				if len(got) != len(tc.wantIDs) {
					t.Fatalf("%d payments, want %d: %s", len(got), len(tc.wantIDs), body)
				}
				for i, want := range tc.wantIDs {
					if want != "" && got[i]["id"] != want {
						t.Fatalf("payment %d is %v, want %s", i, got[i]["id"], want)
					}
					for _, field := range []string{"id", "orderId", "status", "amount", "method", "gateway", "transactionId", "failureCode", "refundId", "createdAt", "updatedAt"} {
						if _, ok := got[i][field]; !ok {
							t.Fatalf("answer lacks %s: %s", field, body)
						}
					}
				}
				if strings.Contains(string(body), payment.TokenVisa) {
					t.Fatalf("the answer carries the payment token: %s", body)
				}
			})
		}
	})
}

func sandboxHook(t *testing.T, e payment.SandboxEvent, secret string) ([]byte, http.Header) {
	t.Helper()
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	h.Set(payment.SandboxSignatureHeader, payment.SignSandbox(secret, b))
	return b, h
}

func stripeHook(t *testing.T, id, typ, intent, secret string) ([]byte, http.Header) {
	t.Helper()
	body := []byte(`{"id":"` + id + `","object":"event","api_version":"2025-01-27","type":"` + typ + `","data":{"object":` + intent + `}}`)
	signed := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: secret, Timestamp: time.Now()})
	h := http.Header{}
	h.Set(payment.StripeSignatureHeader, signed.Header)
	return body, h
}

func TestWebhooks(t *testing.T) {
	storetest.OnEachMySQL(t, func(t *testing.T, engine storetest.Engine) {
		ctx := context.Background()
		h := start(t, engine.Config(t, paymentstore.Database))
		pendingSbx := h.seed(t, "cust-1", paymentstore.Pending, "sbx_ch_pending")
		pendingStripe := h.seed(t, "cust-1", paymentstore.Pending, "pi_pending")
		paid := h.seed(t, "cust-1", paymentstore.Succeeded, "sbx_ch_paid")
		published := func() int { return len(h.sink.Events()) }
		base := len(h.sink.WaitFor(t, 3, 5*time.Second)) // the three PAYMENT_ADDED

		succeeded, succeededHdr := sandboxHook(t, payment.SandboxEvent{ID: "evt_s1", Type: "charge.succeeded", TransactionID: pendingSbx.TransactionID}, sandboxSecret)
		steps := []struct {
			name       string
			gateway    string
			body       []byte
			header     http.Header
			wantStatus int
			wantResult string
			check      func(t *testing.T)
		}{
			{"sandbox success settles the pending payment", "sandbox", succeeded, succeededHdr, 200, "applied", func(t *testing.T) {
				p, err := h.f.store.Get(ctx, pendingSbx.ID)
				if err != nil || p.Status != paymentstore.Succeeded || p.ChargeReply == nil || p.ChargeReply.ID() != paymentstore.EventID(p.ID, events.PaymentSuccess) {
					t.Fatalf("payment = %+v, %v", p, err)
				}
				evs := h.sink.WaitFor(t, base+1, 5*time.Second)
				last := evs[len(evs)-1]
				if last.Type() != string(events.PaymentSuccess) || last.ID() != p.ChargeReply.ID() || last.Source() != "/knshop/payments" {
					t.Fatalf("published %s %s from %s", last.Type(), last.ID(), last.Source())
				}
			}},
			{"the same webhook again changes nothing", "sandbox", succeeded, succeededHdr, 200, "duplicate", func(t *testing.T) {
				time.Sleep(50 * time.Millisecond)
				if published() != base+1 {
					t.Fatalf("%d events published, want %d", published(), base+1)
				}
			}},
			{"a late failure does not move a settled payment back", "sandbox", nil, nil, 200, "stale", func(t *testing.T) {
				p, err := h.f.store.Get(ctx, pendingSbx.ID)
				if err != nil || p.Status != paymentstore.Succeeded {
					t.Fatalf("payment = %s, %v", p.Status, err)
				}
			}},
			{"a webhook for a paid payment is stale", "sandbox", nil, nil, 200, "stale", nil},
			{"an unknown transaction is acknowledged", "sandbox", nil, nil, 200, "unmatched", nil},
			{"a bad signature is 400", "sandbox", nil, nil, 400, "", nil},
			{"a missing signature is 400", "sandbox", []byte(`{"id":"evt_x","type":"charge.succeeded","transactionId":"sbx_ch_pending"}`), http.Header{}, 400, "", nil},
			{"an unknown gateway is 404", "paypal", succeeded, succeededHdr, 404, "", nil},
			{"stripe payment failure settles by payment id", "stripe", nil, nil, 200, "applied", func(t *testing.T) {
				p, err := h.f.store.Get(ctx, pendingStripe.ID)
				if err != nil || p.Status != paymentstore.Failed || p.FailureCode != payment.CodeInsufficientFunds {
					t.Fatalf("payment = %+v, %v", p, err)
				}
				evs := h.sink.WaitFor(t, base+2, 5*time.Second)
				if evs[len(evs)-1].Type() != string(events.PaymentFailure) {
					t.Fatalf("published %s", evs[len(evs)-1].Type())
				}
			}},
			{"stripe with another secret is 400", "stripe", nil, nil, 400, "", nil},
			{"stripe event kinds payments ignores are acknowledged", "stripe", nil, nil, 200, "ignored", nil},
		}
		bodies := map[string]func() ([]byte, http.Header){
			"a late failure does not move a settled payment back": func() ([]byte, http.Header) {
				return sandboxHook(t, payment.SandboxEvent{ID: "evt_s2", Type: "charge.failed", TransactionID: pendingSbx.TransactionID}, sandboxSecret)
			},
			"a webhook for a paid payment is stale": func() ([]byte, http.Header) {
				return sandboxHook(t, payment.SandboxEvent{ID: "evt_s3", Type: "charge.succeeded", TransactionID: paid.TransactionID}, sandboxSecret)
			},
			"an unknown transaction is acknowledged": func() ([]byte, http.Header) {
				return sandboxHook(t, payment.SandboxEvent{ID: "evt_s4", Type: "charge.succeeded", TransactionID: "sbx_ch_nobody"}, sandboxSecret)
			},
			"a bad signature is 400": func() ([]byte, http.Header) {
				return sandboxHook(t, payment.SandboxEvent{ID: "evt_s5", Type: "charge.failed", TransactionID: pendingSbx.TransactionID}, "wrong-secret")
			},
			"stripe payment failure settles by payment id": func() ([]byte, http.Header) {
				return stripeHook(t, "evt_1", "payment_intent.payment_failed", `{"id":"pi_other","object":"payment_intent","status":"requires_payment_method","metadata":{"payment_id":"`+pendingStripe.ID+`"},"last_payment_error":{"type":"card_error","code":"card_declined","decline_code":"insufficient_funds","message":"Insufficient funds."}}`, stripeSecret)
			},
			"stripe with another secret is 400": func() ([]byte, http.Header) {
				return stripeHook(t, "evt_2", "payment_intent.succeeded", `{"id":"pi_pending","object":"payment_intent","status":"succeeded"}`, "whsec_other")
			},
			"stripe event kinds payments ignores are acknowledged": func() ([]byte, http.Header) {
				return stripeHook(t, "evt_3", "customer.created", `{"id":"cus_1","object":"customer"}`, stripeSecret)
			},
		}
		for _, s := range steps {
			t.Run(s.name, func(t *testing.T) {
				body, header := s.body, s.header
				if mk, ok := bodies[s.name]; ok {
					body, header = mk()
				}
				status, answer := h.do(t, http.MethodPost, "/api/payments/webhooks/"+s.gateway, "", body, header)
				if status != s.wantStatus {
					t.Fatalf("status %d, want %d: %s", status, s.wantStatus, answer)
				}
				if s.wantResult != "" && !strings.Contains(string(answer), `"result":"`+s.wantResult+`"`) {
					t.Fatalf("answer %s, want result %s", answer, s.wantResult)
				}
				if s.check != nil {
					s.check(t)
				}
			})
		}
		t.Run("a bad signature changed nothing", func(t *testing.T) {
			p, err := h.f.store.Get(ctx, pendingSbx.ID)
			if err != nil || p.Status != paymentstore.Succeeded {
				t.Fatalf("payment = %s, %v", p.Status, err)
			}
		})
	})
}
