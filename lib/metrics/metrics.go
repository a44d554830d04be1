// Package metrics holds knshop's Prometheus collectors: one registry per
// process, served by every function's runtime at /metrics in the
// Prometheus text format. Every knshop metric is named knshop_*; the
// registry also carries the Go runtime's and the process's standard
// collectors (go_*, process_*). docs/operations.md lists them all.
//
// It is built on github.com/prometheus/client_golang, the reference
// Prometheus client: its text exposition, histogram buckets and collector
// registry are exactly what a Prometheus server scrapes, and it costs
// nothing until a metric moves or a scrape comes.
package metrics

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Namespace prefixes every knshop metric.
const Namespace = "knshop"

// Registry is the process's registry. On a cluster a process serves one
// function; locally (`knshop dev`) every function shares the process, and
// the `function` label tells them apart.
var Registry = prometheus.NewRegistry()

func init() {
	Registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
}

// Handler serves the registry in the Prometheus text format.
func Handler() http.Handler {
	return promhttp.HandlerFor(Registry, promhttp.HandlerOpts{Registry: Registry})
}

// NewCounterVec registers a counter named knshop_<name>.
func NewCounterVec(name, help string, labels ...string) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: name, Help: help}, labels)
	Registry.MustRegister(c)
	return c
}

// NewGaugeVec registers a gauge named knshop_<name>.
func NewGaugeVec(name, help string, labels ...string) *prometheus.GaugeVec {
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: Namespace, Name: name, Help: help}, labels)
	Registry.MustRegister(g)
	return g
}

// LatencyBuckets are the histogram buckets of handler latencies, in
// seconds: 1 ms to 10 s.
var LatencyBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// NewHistogramVec registers a latency histogram named knshop_<name>.
func NewHistogramVec(name, help string, labels ...string) *prometheus.HistogramVec {
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: Namespace, Name: name, Help: help, Buckets: LatencyBuckets}, labels)
	Registry.MustRegister(h)
	return h
}
