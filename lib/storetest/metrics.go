package storetest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Metrics fetches GET /metrics from h and parses it with Prometheus's own
// text parser: what a Prometheus server would read.
func Metrics(t testing.TB, h http.Handler) map[string]*dto.MetricFamily {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	return parseMetrics(t, rec.Code, rec.Body)
}

// MetricsAt is Metrics of the server at base (a function's own port).
func MetricsAt(t testing.TB, base string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(strings.TrimSuffix(base, "/") + "/metrics")
	if err != nil {
		t.Fatalf("GET %s/metrics: %v", base, err)
	}
	defer resp.Body.Close()
	return parseMetrics(t, resp.StatusCode, resp.Body)
}

func parseMetrics(t testing.TB, code int, body io.Reader) map[string]*dto.MetricFamily {
	t.Helper()
	if code != http.StatusOK {
		t.Fatalf("GET /metrics = %d", code)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return fams
}

// MetricValue sums the counter values, gauge values and histogram counts
// of family name whose labels include want; 0 when none does.
func MetricValue(fams map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	total := 0.0
next:
	for _, m := range fams[name].GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if have[k] != v {
				continue next
			}
		}
		total += m.GetCounter().GetValue() + float64(m.GetHistogram().GetSampleCount()) + m.GetGauge().GetValue()
	}
	return total
}
