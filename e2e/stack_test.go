// Package e2e drives the whole local stack, started the way `make run`
// starts it, through HTTP only, and checks what reached the Broker's topic.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/knshop/knshop/cmd/knshop/devstack"
)

const adminEmail, adminPassword = "admin@e2e.test", "admin-password-e2e"

// shop is one running local stack and an HTTP client for it.
type shop struct {
	t     testing.TB
	stack *devstack.Stack
	topic *topicWatcher
}

// mysqlEngines are the MySQL servers the stack runs on: the embedded one,
// as `make run` starts it, and MariaDB too when MYSQL_DSN names one (CI),
// where the orders, payments and deliveries functions then run with their
// own concurrent pools and real row locks.
func mysqlEngines() map[string]map[string]string {
	out := map[string]map[string]string{"embedded": nil}
	if dsn := os.Getenv("MYSQL_DSN"); dsn != "" {
		out["mariadb"] = map[string]string{"MYSQL_DSN": dsn}
	}
	return out
}

// onEachMySQL runs body once per engine of mysqlEngines, as a subtest.
func onEachMySQL(t *testing.T, body func(t *testing.T, env map[string]string)) {
	for name, env := range mysqlEngines() {
		t.Run(name, func(t *testing.T) { body(t, env) })
	}
}

func startShop(t testing.TB, env map[string]string, without ...string) *shop {
	t.Helper()
	return startShopTimed(t, env, timers{relay: time.Second}, without...)
}

// timers are the periods of the stack's timer functions (0: the default).
type timers struct{ relay, reconcile time.Duration }

func startShopTimed(t testing.TB, env map[string]string, every timers, without ...string) *shop {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	base := map[string]string{
		"LOG_LEVEL": "error", "ADMIN_EMAIL": adminEmail, "ADMIN_PASSWORD": adminPassword,
		"SANDBOX_COURIER_DELAY": "100ms",
	}
	for k, v := range env {
		base[k] = v
	}
	logOut := io.Discard
	if os.Getenv("E2E_LOG") != "" {
		logOut = os.Stderr
	}
	s, err := devstack.Start(ctx, devstack.Options{
		DataDir: t.TempDir(), RepoDir: "..",
		GatewayAddr: "127.0.0.1:0", BrokerAddr: "127.0.0.1:0", KafkaAddr: "127.0.0.1:0",
		MongoAddr: "127.0.0.1:0", MySQLAddr: "127.0.0.1:0",
		RelayEvery: every.relay, ReconcileEvery: every.reconcile, Env: base, Without: without,
		Log: slog.New(slog.NewJSONHandler(logOut, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Logf("closing the stack: %v", err)
		}
	})
	w := watchTopic(t, ctx, s.Kafka)
	return &shop{t: t, stack: s, topic: w}
}

// call sends a JSON request through the gateway and decodes the answer.
func (s *shop) call(method, path, token string, body any, headers ...string) (int, map[string]any) {
	s.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			s.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.stack.GatewayURL+path, rd)
	if err != nil {
		s.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		s.t.Fatal(err)
	}
	out := map[string]any{}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			out["_raw"] = string(raw)
		}
	}
	return resp.StatusCode, out
}

// must is call that fails the test unless the status is want.
func (s *shop) must(want int, method, path, token string, body any, headers ...string) map[string]any {
	s.t.Helper()
	got, out := s.call(method, path, token, body, headers...)
	if got != want {
		s.t.Fatalf("%s %s = %d, want %d: %v", method, path, got, want, out)
	}
	return out
}

func (s *shop) register(email, role string) (token, id string) {
	s.t.Helper()
	out := s.must(201, "POST", "/api/auth/register", "", map[string]any{"email": email, "password": "password-" + role, "name": strings.Split(email, "@")[0], "role": role})
	return out["accessToken"].(string), out["user"].(map[string]any)["id"].(string)
}

func (s *shop) login(email, password string) string {
	s.t.Helper()
	return s.must(200, "POST", "/api/auth/login", "", map[string]any{"email": email, "password": password})["accessToken"].(string)
}

// market registers a seller and a customer at domain (seller@domain,
// customer@domain) and has the seller add stock units of a product at price
// cents: where most walks start.
func (s *shop) market(domain, product string, price, stock int) (seller, customer, productID string) {
	s.t.Helper()
	seller, _ = s.register("seller@"+domain, "seller")
	customer, _ = s.register("customer@"+domain, "customer")
	return seller, customer, s.addProduct(seller, product, price, stock)
}

func (s *shop) addProduct(sellerToken, name string, price, stock int) string {
	s.t.Helper()
	out := s.must(201, "POST", "/api/products", sellerToken, map[string]any{
		"name": name, "description": "a " + name, "category": "test",
		"price": map[string]any{"amount": price, "currency": "USD"}, "stock": stock,
	})
	return out["id"].(string)
}

func (s *shop) stock(productID string) int {
	s.t.Helper()
	return int(s.must(200, "GET", "/api/products/"+productID, "", nil)["stock"].(float64))
}

var home = map[string]any{"line1": "1 Main St", "city": "Springfield", "postalCode": "12345", "country": "US"}

func (s *shop) order(token, productID string, qty int, card string) string {
	s.t.Helper()
	out := s.must(202, "POST", "/api/orders", token, map[string]any{
		"items":           []any{map[string]any{"productId": productID, "quantity": qty}},
		"shippingAddress": home, "paymentMethod": card,
	})
	return out["id"].(string)
}

// waitOrder polls the order until its status is want and returns it.
func (s *shop) waitOrder(token, orderID, want string) map[string]any {
	s.t.Helper()
	return s.waitOrderEvery(token, orderID, want, 50*time.Millisecond)
}

func (s *shop) waitOrderEvery(token, orderID, want string, every time.Duration) map[string]any {
	s.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var last map[string]any
	for time.Now().Before(deadline) {
		_, last = s.call("GET", "/api/orders/"+orderID, token, nil)
		if last["status"] == want {
			return last
		}
		time.Sleep(every)
	}
	s.t.Fatalf("order %s never reached %s; last seen %v", orderID, want, last)
	return nil
}

// eventually retries check until it returns "" or the time is up.
func eventually(t testing.TB, what string, check func() string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	msg := ""
	for time.Now().Before(deadline) {
		if msg = check(); msg == "" {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s: %s", what, msg)
}

// topicWatcher reads every record of the Broker's topic, as kcat would.
type topicWatcher struct {
	mu      sync.Mutex
	records []record
}

type record struct {
	Key     string
	Type    string
	Subject string
	Headers map[string]string
	Data    map[string]any
}

func watchTopic(t testing.TB, ctx context.Context, seeds []string) *topicWatcher {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.ConsumeTopics("knative-broker-knshop-default"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	w := &topicWatcher{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			fs := cl.PollFetches(ctx)
			if fs.IsClientClosed() {
				return
			}
			fs.EachRecord(func(r *kgo.Record) {
				rec := record{Key: string(r.Key), Headers: map[string]string{}}
				for _, h := range r.Headers {
					rec.Headers[h.Key] = string(h.Value)
				}
				rec.Type, rec.Subject = rec.Headers["ce_type"], rec.Headers["ce_subject"]
				if err := json.Unmarshal(r.Value, &rec.Data); err != nil {
					rec.Data = nil
				}
				w.mu.Lock()
				w.records = append(w.records, rec)
				w.mu.Unlock()
			})
		}
	}()
	t.Cleanup(func() { cl.Close(); <-done })
	return w
}

// typesFor lists the event types recorded for one partition key, in order.
func (w *topicWatcher) typesFor(key string) []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	for _, r := range w.records {
		if r.Key == key {
			out = append(out, r.Type)
		}
	}
	return out
}

func (w *topicWatcher) count(key, typ string) int {
	n := 0
	for _, t := range w.typesFor(key) {
		if t == typ {
			n++
		}
	}
	return n
}

// distinct counts the different event ids of one type for one key: a
// redelivered reply is the same event again.
func (w *topicWatcher) distinct(key, typ string) int {
	seen := map[string]bool{}
	for _, r := range w.all() {
		if r.Key == key && r.Type == typ {
			seen[r.Headers["ce_id"]] = true
		}
	}
	return len(seen)
}

// countType counts the records of one type, whatever their key.
func (w *topicWatcher) countType(typ string) int {
	n := 0
	for _, r := range w.all() {
		if r.Type == typ {
			n++
		}
	}
	return n
}

func (w *topicWatcher) all() []record {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]record(nil), w.records...)
}

func describe(v any) string { return fmt.Sprintf("%v", v) }

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }
