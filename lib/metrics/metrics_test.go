package metrics

import (
	"net/http"
	"net/http/httptest"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

func exposition(t *testing.T) map[string]*dto.MetricFamily {
	t.Helper()
	rec := httptest.NewRecorder()
	Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(rec.Body)
	if err != nil {
		t.Fatalf("the Prometheus text parser refuses the exposition: %v", err)
	}
	return fams
}

func TestExpositionParsesWithTypesAndEscapedLabels(t *testing.T) {
	c := NewCounterVec("test_escapes_total", "route")
	odd := "GET /a/{id} \"quoted\" back\\slash\nnewline"
	c.WithLabelValues(odd).Inc()
	c.WithLabelValues(odd).Inc()
	NewGaugeVec("test_gauge", "x").WithLabelValues("1").Set(42)
	h := NewHistogramVec("test_latency_seconds", "route")
	h.WithLabelValues("r").Update(0.003)
	h.WithLabelValues("r").Update(7)

	fams := exposition(t)
	f := fams["knshop_test_escapes_total"]
	if f.GetType() != dto.MetricType_COUNTER || len(f.GetMetric()) != 1 {
		t.Fatalf("counter family %v", f)
	}
	m := f.GetMetric()[0]
	if m.GetLabel()[0].GetValue() != odd || m.GetCounter().GetValue() != 2 {
		t.Fatalf("label %q value %v, want %q and 2", m.GetLabel()[0].GetValue(), m.GetCounter().GetValue(), odd)
	}
	if g := fams["knshop_test_gauge"]; g.GetType() != dto.MetricType_GAUGE || g.GetMetric()[0].GetGauge().GetValue() != 42 {
		t.Fatalf("gauge family %v", g)
	}
	hf := fams["knshop_test_latency_seconds"]
	if hf.GetType() != dto.MetricType_HISTOGRAM {
		t.Fatalf("histogram family type %v", hf.GetType())
	}
	hist := hf.GetMetric()[0].GetHistogram()
	if hist.GetSampleCount() != 2 || hist.GetSampleSum() != 7.003 {
		t.Fatalf("histogram count %d sum %v", hist.GetSampleCount(), hist.GetSampleSum())
	}
	for _, b := range hist.GetBucket() {
		want := uint64(0)
		if b.GetUpperBound() >= 0.003 {
			want = 1
		}
		if b.GetUpperBound() >= 7 {
			want = 2
		}
		if b.GetCumulativeCount() != want {
			t.Errorf("bucket le=%v holds %d, want %d", b.GetUpperBound(), b.GetCumulativeCount(), want)
		}
	}
	if _, ok := fams["go_goroutines"]; !ok {
		t.Error("no go_* process metrics")
	}
}

func TestWrongLabelCountPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("a wrong number of label values did not panic")
		}
	}()
	NewCounterVec("test_labels_total", "a", "b").WithLabelValues("only one")
}
