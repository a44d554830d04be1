// Package metrics holds knshop's metrics: one set per process, served by
// every function's runtime at /metrics in the Prometheus text format (with
// # TYPE lines). Every knshop metric is named knshop_*; the exposition
// also carries the Go runtime's and the process's go_* and process_*
// metrics. docs/operations.md lists them all.
//
// It is built on github.com/VictoriaMetrics/metrics, a small, dependency-
// free Prometheus exposition library. The reference client,
// github.com/prometheus/client_golang, was tried first and measured: it
// links protobuf (through client_model), whose descriptor formatting calls
// reflect.Value.MethodByName, which turns off the linker's dead-method
// elimination for the whole binary; cmd/fn grew by more than 9 MB
// (docs/benchmarks.md). Counters, gauges and Prometheus-style histograms
// (le buckets) are all knshop needs.
package metrics

import (
	"net/http"
	"strings"

	vm "github.com/VictoriaMetrics/metrics"
)

// Namespace prefixes every knshop metric.
const Namespace = "knshop"

// set is the process's metrics. On a cluster a process serves one
// function; locally (`knshop dev`) every function shares the process, and
// the `function` label tells them apart.
var set = vm.NewSet()

func init() {
	vm.ExposeMetadata(true) // # TYPE lines: parsers need them for histograms
}

// Handler serves the metrics in the Prometheus text format.
func Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		set.WritePrometheus(w)
		vm.WriteProcessMetrics(w)
	})
}

// vec names the series of one metric by its label values.
type vec struct {
	name   string
	labels []string
}

func newVec(name string, labels []string) vec {
	return vec{name: Namespace + "_" + name, labels: labels}
}

// series is the metric's name with the label values, escaped as the text
// format wants. It panics on a wrong number of values, as a programming
// error.
func (v vec) series(values []string) string {
	if len(values) != len(v.labels) {
		panic("metrics: " + v.name + " takes labels " + strings.Join(v.labels, ", "))
	}
	if len(values) == 0 {
		return v.name
	}
	var b strings.Builder
	b.WriteString(v.name)
	b.WriteByte('{')
	for i, l := range v.labels {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(l)
		b.WriteString(`="`)
		b.WriteString(labelEscaper.Replace(values[i]))
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String()
}

var labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

// CounterVec is a counter with labels.
type CounterVec struct{ vec }

// NewCounterVec declares a counter named knshop_<name> (end it in _total).
func NewCounterVec(name string, labels ...string) *CounterVec {
	return &CounterVec{newVec(name, labels)}
}

// WithLabelValues is the counter of those label values.
func (c *CounterVec) WithLabelValues(values ...string) *vm.Counter {
	return set.GetOrCreateCounter(c.series(values))
}

// GaugeVec is a gauge with labels.
type GaugeVec struct{ vec }

// NewGaugeVec declares a gauge named knshop_<name>.
func NewGaugeVec(name string, labels ...string) *GaugeVec {
	return &GaugeVec{newVec(name, labels)}
}

// WithLabelValues is the gauge of those label values.
func (g *GaugeVec) WithLabelValues(values ...string) *vm.Gauge {
	return set.GetOrCreateGauge(g.series(values), nil)
}

// LatencyBuckets are the histogram buckets of handler latencies, in
// seconds: 1 ms to 10 s.
var LatencyBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// HistogramVec is a latency histogram with labels.
type HistogramVec struct{ vec }

// NewHistogramVec declares a histogram named knshop_<name>, in seconds.
func NewHistogramVec(name string, labels ...string) *HistogramVec {
	return &HistogramVec{newVec(name, labels)}
}

// WithLabelValues is the histogram of those label values.
func (h *HistogramVec) WithLabelValues(values ...string) *vm.PrometheusHistogram {
	return set.GetOrCreatePrometheusHistogramExt(h.series(values), LatencyBuckets)
}
