package devstack

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/knshop/knshop/lib/broker"
	"github.com/knshop/knshop/lib/partner"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	eventingduckv1 "knative.dev/eventing/pkg/apis/duck/v1"
	eventingv1 "knative.dev/eventing/pkg/apis/eventing/v1"
	"knative.dev/pkg/apis"
	duckv1 "knative.dev/pkg/apis/duck/v1"
)

// startBroker loads brokers/ and triggers/, adds the sandbox partner's
// subscription, and serves the ingress on ln.
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
