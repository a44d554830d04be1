// Package devstack starts knshop on one machine the way `knshop dev` runs
// it: Kafka, MongoDB and MySQL (embedded unless real ones are configured),
// the local Broker driven by brokers/ and triggers/, every function on
// loopback, the gateway, and the outbox relay on a timer. The end-to-end
// tests start the same stack.
package devstack

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/knshop/knshop/functions"
	"github.com/knshop/knshop/lib/fn"
	"github.com/knshop/knshop/lib/timeline"
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
	// ReconcileEvery is how often reconcile-orders runs; default 30s.
	ReconcileEvery time.Duration
	Without        []string // functions not to start (tests that stop the saga at a step)
	Log            *slog.Logger
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
	if url, ok := s.Functions[fn.TimelineFunction]; ok && cfg[timeline.URLKey] == "" {
		// Every runtime reports its deliveries to the timeline function.
		cfg[timeline.URLKey] = url
	}
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
	s.startTimer(ctx, "relay-outbox", "outbox relay", o.RelayEvery)
	s.startTimer(ctx, "reconcile-orders", "order deadlines and re-drives", o.ReconcileEvery)
	return nil
}

func (o Options) withDefaults() Options {
	o.DataDir = cmp.Or(o.DataDir, ".knshop")
	o.RepoDir = cmp.Or(o.RepoDir, ".")
	o.GatewayAddr = cmp.Or(o.GatewayAddr, ":8080")
	o.BrokerAddr = cmp.Or(o.BrokerAddr, "127.0.0.1:8081")
	o.KafkaAddr = cmp.Or(o.KafkaAddr, "127.0.0.1:9092")
	o.MongoAddr = cmp.Or(o.MongoAddr, "127.0.0.1:27017")
	o.MySQLAddr = cmp.Or(o.MySQLAddr, "127.0.0.1:3306")
	o.RelayEvery = cmp.Or(o.RelayEvery, time.Minute)
	o.ReconcileEvery = cmp.Or(o.ReconcileEvery, 30*time.Second)
	o.Log = cmp.Or(o.Log, slog.Default())
	if o.Env == nil {
		o.Env = map[string]string{}
	}
	return o
}
