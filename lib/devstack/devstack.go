// Package devstack starts knshop on one machine the way `knshop dev` runs
// it: Kafka, MongoDB and MySQL (embedded unless real ones are configured),
// the local Broker driven by brokers/ and triggers/, every function on
// loopback, the gateway, and the outbox relay on a timer. The end-to-end
// tests start the same stack.
package devstack

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/knshop/knshop/functions"
	"github.com/knshop/knshop/lib/auth"
	"github.com/knshop/knshop/lib/broker"
	"github.com/knshop/knshop/lib/embedded"
	"github.com/knshop/knshop/lib/fn"
	"github.com/knshop/knshop/lib/gateway"
	"github.com/knshop/knshop/lib/partner"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	eventingduckv1 "knative.dev/eventing/pkg/apis/duck/v1"
	eventingv1 "knative.dev/eventing/pkg/apis/eventing/v1"
	"knative.dev/pkg/apis"
	duckv1 "knative.dev/pkg/apis/duck/v1"
)

// Options says where things run. Zero values mean the defaults of `make run`.
type Options struct {
	DataDir     string            // default .knshop
	RepoDir     string            // where brokers/ and triggers/ are; default "."
	GatewayAddr string            // default :8080
	BrokerAddr  string            // default 127.0.0.1:8081
	KafkaAddr   string            // embedded Kafka; default 127.0.0.1:9092
	MongoAddr   string            // embedded MongoDB; default 127.0.0.1:27017
	MySQLAddr   string            // embedded MySQL; default 127.0.0.1:3306
	Env         map[string]string // the process environment; real servers when set
	RelayEvery  time.Duration     // outbox relay period; default 1 minute
	Without     []string          // functions not to start (tests that stop the saga at a step)
	Log         *slog.Logger
}

// Stack is a running local knshop.
type Stack struct {
	GatewayURL string
	BrokerURL  string            // the Broker ingress: K_SINK of every function
	Kafka      []string          // bootstrap servers
	Functions  map[string]string // name → base URL on loopback
	Parts      []Part            // what runs where, for the start-up table

	log         *slog.Logger
	ingressDown atomic.Bool
	closers     []func() error
	cancel      context.CancelFunc
	wg          sync.WaitGroup
}

// Part is one running component.
type Part struct{ Name, Where, Note string }

// Namespace and Broker name of the local Broker.
const (
	Namespace  = "knshop"
	BrokerName = "default"
)

// Start brings the whole stack up. On error everything started is stopped.
func Start(ctx context.Context, o Options) (*Stack, error) {
	o = o.withDefaults()
	ctx, cancel := context.WithCancel(ctx)
	s := &Stack{Functions: map[string]string{}, log: o.Log, cancel: cancel}
	if err := s.start(ctx, o); err != nil {
		if cerr := s.Close(); cerr != nil {
			o.Log.Warn("stopping after a failed start", "error", cerr)
		}
		return nil, err
	}
	return s, nil
}

func (s *Stack) start(ctx context.Context, o Options) error {
	if err := os.MkdirAll(o.DataDir, 0o700); err != nil {
		return fmt.Errorf("devstack: data dir: %w", err)
	}
	cfg, err := s.startStores(ctx, o)
	if err != nil {
		return err
	}
	if err := secrets(o.DataDir, cfg); err != nil {
		return err
	}

	// Listeners first: the Broker resolves subscribers to these addresses,
	// and functions need the Broker's address before they start.
	names := make([]string, 0, len(functions.All))
	for name := range functions.All {
		if !slices.Contains(o.Without, name) {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	listeners := map[string]net.Listener{}
	for _, name := range names {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return fmt.Errorf("devstack: listen for %s: %w", name, err)
		}
		listeners[name] = ln
		s.Functions[name] = "http://" + ln.Addr().String()
	}

	brokerLn, err := net.Listen("tcp", o.BrokerAddr)
	if err != nil {
		return fmt.Errorf("devstack: broker ingress: %w", err)
	}
	s.BrokerURL = fmt.Sprintf("http://%s/%s/%s", brokerLn.Addr(), Namespace, BrokerName)
	cfg["K_SINK"] = s.BrokerURL
	s.Kafka = strings.Split(cfg["KAFKA_BOOTSTRAP_SERVERS"], ",")
	if err := s.startBroker(ctx, o, cfg, brokerLn); err != nil {
		return err
	}

	for _, name := range names {
		if err := s.startFunction(ctx, name, cfg, listeners[name], o.Log); err != nil {
			for _, n := range names {
				if ln := listeners[n]; ln != nil {
					ln.Close()
				}
			}
			return err
		}
		listeners[name] = nil
		s.Parts = append(s.Parts, Part{Name: "fn " + name, Where: s.Functions[name]})
	}
	if err := s.startGateway(o); err != nil {
		return err
	}
	s.startRelay(ctx, o.RelayEvery)
	return nil
}

func (o Options) withDefaults() Options {
	if o.DataDir == "" {
		o.DataDir = ".knshop"
	}
	if o.RepoDir == "" {
		o.RepoDir = "."
	}
	if o.GatewayAddr == "" {
		o.GatewayAddr = ":8080"
	}
	if o.BrokerAddr == "" {
		o.BrokerAddr = "127.0.0.1:8081"
	}
	if o.KafkaAddr == "" {
		o.KafkaAddr = "127.0.0.1:9092"
	}
	if o.MongoAddr == "" {
		o.MongoAddr = "127.0.0.1:27017"
	}
	if o.MySQLAddr == "" {
		o.MySQLAddr = "127.0.0.1:3306"
	}
	if o.RelayEvery == 0 {
		o.RelayEvery = time.Minute
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.Env == nil {
		o.Env = map[string]string{}
	}
	return o
}

// startStores starts the embedded servers that no variable replaces and
// returns the configuration every function gets.
func (s *Stack) startStores(ctx context.Context, o Options) (map[string]string, error) {
	cfg := make(map[string]string, len(o.Env)+8)
	for k, v := range o.Env {
		cfg[k] = v
	}
	// The embedded servers report every refused command (FerretDB logs each
	// unsupported index option at WARN): only their errors reach the log.
	quiet := embedded.WithLogger(slog.New(atLeast{o.Log.Handler(), slog.LevelError}).With("part", "embedded"))
	serialize := false
	if cfg["KAFKA_BOOTSTRAP_SERVERS"] == "" {
		k, err := embedded.StartKafka(ctx, o.KafkaAddr, quiet)
		if err != nil {
			return nil, err
		}
		s.closers = append(s.closers, func() error { k.Close(); return nil })
		cfg["KAFKA_BOOTSTRAP_SERVERS"] = strings.Join(k.Addrs(), ",")
		cfg["KNSHOP_EMBEDDED_KAFKA"] = "true"
		s.Parts = append(s.Parts, Part{"kafka", cfg["KAFKA_BOOTSTRAP_SERVERS"], "embedded (kfake)"})
	} else {
		s.Parts = append(s.Parts, Part{"kafka", cfg["KAFKA_BOOTSTRAP_SERVERS"], "KAFKA_BOOTSTRAP_SERVERS"})
	}
	if cfg["MONGODB_URI"] == "" {
		m, err := embedded.StartMongo(ctx, filepath.Join(o.DataDir, "mongo"), o.MongoAddr, quiet)
		if err != nil {
			return nil, err
		}
		s.closers = append(s.closers, func() error { m.Close(); return nil })
		cfg["MONGODB_URI"] = m.URI()
		serialize = true
		s.Parts = append(s.Parts, Part{"mongodb", m.URI(), "embedded (FerretDB, SQLite under " + filepath.Join(o.DataDir, "mongo") + ")"})
	} else {
		s.Parts = append(s.Parts, Part{"mongodb", redact(cfg["MONGODB_URI"]), "MONGODB_URI"})
	}
	if cfg["MYSQL_DSN"] == "" {
		m, err := embedded.StartMySQL(ctx, filepath.Join(o.DataDir, "mysql"), o.MySQLAddr, quiet)
		if err != nil {
			return nil, err
		}
		s.closers = append(s.closers, func() error { m.Close(); return nil })
		cfg["MYSQL_DSN"] = m.DSN()
		serialize = true
		s.Parts = append(s.Parts, Part{"mysql", m.Addr(), "embedded (go-mysql-server)"})
	} else {
		s.Parts = append(s.Parts, Part{"mysql", redact(cfg["MYSQL_DSN"]), "MYSQL_DSN"})
	}
	if serialize {
		cfg["KNSHOP_SERIALIZE_DB"] = "true"
	}
	return cfg, nil
}

func (s *Stack) startBroker(ctx context.Context, o Options, cfg map[string]string, ln net.Listener) error {
	bc, err := broker.LoadDir(o.RepoDir, broker.WithDefaultNamespace(Namespace))
	if err != nil {
		ln.Close()
		return fmt.Errorf("devstack: %w", err)
	}
	if cfg["KNSHOP_EMBEDDED_KAFKA"] == "true" {
		// The embedded Kafka is a single broker: the cluster's replication
		// factor cannot be met there, and need not be.
		for i := range bc.Brokers {
			bc.Brokers[i].ReplicationFactor = 1
		}
	}
	bc.Triggers = s.servable(bc.Triggers)
	if t, err := s.startPartner(cfg, o.Log); err != nil {
		ln.Close()
		return err
	} else if t != nil {
		bc.Triggers = append(bc.Triggers, t)
	}
	resolve := broker.ResolverFunc(func(ref duckv1.KReference) (*url.URL, error) {
		base, ok := s.Functions[ref.Name]
		if !ok || ref.Kind != "Service" {
			return nil, fmt.Errorf("devstack: no local function for %s %s", ref.Kind, ref.Name)
		}
		return url.Parse(base)
	})
	b, err := broker.New(bc,
		broker.WithBootstrapServers(strings.Split(cfg["KAFKA_BOOTSTRAP_SERVERS"], ",")...),
		broker.WithResolver(resolve),
		broker.WithLogger(o.Log.With("part", "broker")),
	)
	if err != nil {
		ln.Close()
		return fmt.Errorf("devstack: %w", err)
	}
	if err := b.Start(ctx); err != nil {
		ln.Close()
		return fmt.Errorf("devstack: start broker: %w", err)
	}
	s.closers = append(s.closers, b.Close)
	ingress := b.Handler()
	s.serve("broker", ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.ingressDown.Load() {
			http.Error(w, "the broker ingress is down (test fault)", http.StatusServiceUnavailable)
			return
		}
		ingress.ServeHTTP(w, r)
	}))
	s.Parts = append(s.Parts, Part{"broker", s.BrokerURL, fmt.Sprintf("%d triggers from %s", len(bc.Triggers), filepath.Join(o.RepoDir, "triggers"))})
	return nil
}

// startPartner runs the sandbox delivery partner when DELIVERY_PARTNER is
// sandbox (the default) and subscribes it to DELIVERY_STARTED, as a real
// partner's webhook would be. It returns that subscription.
func (s *Stack) startPartner(cfg map[string]string, log *slog.Logger) (*eventingv1.Trigger, error) {
	deliveries, ok := s.Functions["deliveries"]
	if !ok || (cfg["DELIVERY_PARTNER"] != "" && cfg["DELIVERY_PARTNER"] != "sandbox") {
		return nil, nil
	}
	delay, err := partner.DelayFrom(cfg)
	if err != nil {
		return nil, fmt.Errorf("devstack: %w", err)
	}
	p := partner.New(deliveries, []byte(cfg["PARTNER_WEBHOOK_SECRET"]), delay, log.With("part", "sandbox-partner"))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("devstack: sandbox partner: %w", err)
	}
	s.closers = append(s.closers, p.Close)
	s.serve("sandbox-partner", ln, p)
	target, err := apis.ParseURL("http://" + ln.Addr().String())
	if err != nil {
		return nil, fmt.Errorf("devstack: sandbox partner: %w", err)
	}
	retry := int32(5)
	policy := eventingduckv1.BackoffPolicyExponential
	delayISO := "PT0.2S"
	s.Parts = append(s.Parts, Part{"partner", target.String(), "sandbox courier: COURIERED then DELIVERED, one step every " + delay.String()})
	return &eventingv1.Trigger{
		ObjectMeta: metav1.ObjectMeta{Name: "sandbox-partner", Namespace: Namespace},
		Spec: eventingv1.TriggerSpec{
			Broker:     BrokerName,
			Filter:     &eventingv1.TriggerFilter{Attributes: eventingv1.TriggerFilterAttributes{"type": "DELIVERY_STARTED"}},
			Subscriber: duckv1.Destination{URI: target},
			Delivery:   &eventingduckv1.DeliverySpec{Retry: &retry, BackoffPolicy: &policy, BackoffDelay: &delayISO},
		},
	}, nil
}

// servable drops, loudly, the Triggers whose subscriber or dead-letter sink
// is a function this binary does not have, so a partial build still runs.
func (s *Stack) servable(triggers []*eventingv1.Trigger) []*eventingv1.Trigger {
	missing := func(d *duckv1.Destination) string {
		if d == nil || d.Ref == nil || d.Ref.Kind != "Service" {
			return ""
		}
		if _, ok := s.Functions[d.Ref.Name]; ok {
			return ""
		}
		return d.Ref.Name
	}
	out := triggers[:0]
	for _, t := range triggers {
		name := missing(&t.Spec.Subscriber)
		if name == "" && t.Spec.Delivery != nil {
			name = missing(t.Spec.Delivery.DeadLetterSink)
		}
		if name != "" {
			s.log.Warn("trigger skipped: its function is not in this build", "trigger", t.Name, "function", name)
			continue
		}
		out = append(out, t)
	}
	return out
}

func (s *Stack) startFunction(ctx context.Context, name string, cfg map[string]string, ln net.Listener, log *slog.Logger) error {
	inst, err := fn.New(name, functions.All[name](), log)
	if err != nil {
		return err
	}
	fcfg := make(map[string]string, len(cfg)+2)
	for k, v := range cfg {
		fcfg[k] = v
	}
	fcfg["FUNCTION"], fcfg["K_SERVICE"] = name, name
	if err := inst.Start(ctx, fcfg); err != nil {
		return err
	}
	fctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer close(done)
		if err := inst.ServeListener(fctx, ln); err != nil {
			s.log.Error("function stopped", "function", name, "error", err)
		}
	}()
	s.closers = append(s.closers, func() error { cancel(); <-done; return nil })
	return nil
}

func (s *Stack) startGateway(o Options) error {
	routes := map[string]*url.URL{}
	for area, name := range functions.Areas {
		base, ok := s.Functions[name]
		if !ok {
			continue // not written yet: its area answers 404
		}
		u, err := url.Parse(base)
		if err != nil {
			return fmt.Errorf("devstack: %w", err)
		}
		routes[area] = u
	}
	g, err := gateway.New(routes, s.log.With("part", "gateway"))
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", o.GatewayAddr)
	if err != nil {
		return fmt.Errorf("devstack: gateway: %w", err)
	}
	addr := ln.Addr().(*net.TCPAddr)
	s.GatewayURL = fmt.Sprintf("http://localhost:%d", addr.Port)
	s.serve("gateway", ln, g)
	s.Parts = append(s.Parts, Part{"gateway", s.GatewayURL, "/api/<area> → the HTTP functions"})
	return nil
}

// startRelay calls relay-outbox every period, as the cluster's PingSource does.
func (s *Stack) startRelay(ctx context.Context, every time.Duration) {
	target, ok := s.Functions["relay-outbox"]
	if !ok {
		return
	}
	s.Parts = append(s.Parts, Part{"relay", target, "outbox relay every " + every.String()})
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if err := ping(ctx, target); err != nil {
					s.log.Warn("outbox relay failed", "error", err)
				}
			}
		}
	}()
}

// Relay runs the outbox relay once now, as one PingSource tick would.
func (s *Stack) Relay(ctx context.Context) error {
	target, ok := s.Functions["relay-outbox"]
	if !ok {
		return errors.New("devstack: relay-outbox is not registered")
	}
	return ping(ctx, target)
}

func ping(ctx context.Context, target string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, strings.NewReader(`{}`))
	if err != nil {
		return err
	}
	id := make([]byte, 12)
	if _, err := rand.Read(id); err != nil {
		return err
	}
	for k, v := range map[string]string{
		"Ce-Specversion": "1.0", "Ce-Id": base64.RawURLEncoding.EncodeToString(id),
		"Ce-Type": "dev.knative.sources.ping", "Ce-Source": "/apis/v1/namespaces/knshop/pingsources/relay-outbox",
		"Content-Type": "application/json",
	} {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("devstack: relay: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("devstack: relay answered %d", resp.StatusCode)
	}
	return nil
}

func (s *Stack) serve(name string, ln net.Listener, h http.Handler) {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("server stopped", "part", name, "error", err)
		}
	}()
	s.closers = append(s.closers, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return srv.Shutdown(ctx)
	})
}

// SetIngressDown makes the Broker ingress refuse every event (503) while
// down is true, as an unreachable Broker would: tests use it to leave events
// in the outboxes, as a crash between a commit and its publish does.
func (s *Stack) SetIngressDown(down bool) { s.ingressDown.Store(down) }

// Close stops everything, last started first.
func (s *Stack) Close() error {
	s.cancel()
	var errs []error
	for i := len(s.closers) - 1; i >= 0; i-- {
		if err := s.closers[i](); err != nil {
			errs = append(errs, err)
		}
	}
	s.closers = nil
	s.wg.Wait()
	return errors.Join(errs...)
}

// secrets fills the keys and secrets of the local run, generated once and
// kept under dataDir so tokens and accounts survive a restart.
func secrets(dataDir string, cfg map[string]string) error {
	if cfg["JWT_PRIVATE_KEY"] == "" {
		raw, err := keep(filepath.Join(dataDir, "jwt-ed25519.key"), func() (string, error) {
			priv, err := auth.GenerateKey()
			if err != nil {
				return "", err
			}
			return auth.EnvFor(priv)["JWT_PRIVATE_KEY"], nil
		})
		if err != nil {
			return err
		}
		cfg["JWT_PRIVATE_KEY"] = raw
	}
	ac, err := auth.ConfigFrom(map[string]string{"JWT_PRIVATE_KEY": cfg["JWT_PRIVATE_KEY"]})
	if err != nil {
		return fmt.Errorf("devstack: %w", err)
	}
	cfg["JWT_PUBLIC_KEY"] = base64.StdEncoding.EncodeToString(ac.PublicKey)
	cfg["JWT_KEY_ID"] = ac.KeyID
	for key, file := range map[string]string{
		"PARTNER_WEBHOOK_SECRET": "partner-webhook.secret",
		"SANDBOX_WEBHOOK_SECRET": "sandbox-webhook.secret",
		"ADMIN_PASSWORD":         "admin-password",
	} {
		if cfg[key] != "" {
			continue
		}
		v, err := keep(filepath.Join(dataDir, file), randomSecret)
		if err != nil {
			return err
		}
		cfg[key] = v
	}
	if cfg["ADMIN_EMAIL"] == "" {
		cfg["ADMIN_EMAIL"] = "admin@knshop.local"
	}
	return nil
}

func randomSecret() (string, error) {
	b := make([]byte, 18)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// keep returns the content of path, creating it with make() the first time.
func keep(path string, make func() (string, error)) (string, error) {
	if b, err := os.ReadFile(path); err == nil {
		return strings.TrimSpace(string(b)), nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("devstack: read %s: %w", path, err)
	}
	v, err := make()
	if err != nil {
		return "", fmt.Errorf("devstack: generate %s: %w", path, err)
	}
	if err := os.WriteFile(path, []byte(v+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("devstack: write %s: %w", path, err)
	}
	return v, nil
}

// redact hides a password in a connection string for the start-up table.
func redact(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
			return u.String()
		}
	}
	if at := strings.LastIndex(dsn, "@"); at > 0 {
		if colon := strings.Index(dsn[:at], ":"); colon >= 0 {
			return dsn[:colon+1] + "xxxxx" + dsn[at:]
		}
	}
	return dsn
}

// atLeast passes on only records at or above its level.
type atLeast struct {
	slog.Handler
	level slog.Level
}

func (h atLeast) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.level && h.Handler.Enabled(ctx, l)
}

func (h atLeast) WithAttrs(as []slog.Attr) slog.Handler {
	return atLeast{h.Handler.WithAttrs(as), h.level}
}

func (h atLeast) WithGroup(name string) slog.Handler {
	return atLeast{h.Handler.WithGroup(name), h.level}
}
