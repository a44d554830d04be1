package timeline

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/knshop/knshop/lib/ids"
	"github.com/knshop/knshop/lib/metrics"
	"github.com/knshop/knshop/lib/sink"
)

// ReportType is the type of the CloudEvents that carry entries from a
// function's runtime straight to the timeline function (not through the
// Broker). Its data is a JSON array of Entry.
const ReportType = "knshop.timeline.report"

// URLKey names the timeline function's URL in a function's configuration;
// unset, nothing is reported.
const URLKey = "KNSHOP_TIMELINE_URL"

// MaxReport bounds the entries of one report.
const MaxReport = 100

// maxQueued bounds the entries a Reporter holds between two reports.
const maxQueued = 4096

// Reporter batches entries and sends them to the timeline function in the
// background: a request never waits for it. A full queue drops entries,
// and a report the timeline does not take is dropped after one retry:
// both are counted. The queue holds what is waiting, no more: a buffer
// sized for the worst case, in every function of a process, was a third
// of `make run`'s live heap, which the garbage collector scanned at every
// cycle (docs/benchmarks.md).
type Reporter struct {
	sink   sink.Sender
	source string
	log    *slog.Logger
	every  time.Duration

	mu    sync.Mutex
	queue []Entry       // waiting for the next report, at most maxQueued
	kick  chan struct{} // a full report is waiting (capacity 1)

	quit chan struct{} // closed by Close; a late Report only queues
	done chan struct{}
	once sync.Once
}

var (
	dropped = metrics.NewCounterVec("timeline_dropped_total", "reason")
	sent    = metrics.NewCounterVec("timeline_reported_total")
)

// NewReporter reports to url as function; nil (reporting nothing) when url
// is empty.
func NewReporter(url, function string, log *slog.Logger) *Reporter {
	if url == "" {
		return nil
	}
	r := &Reporter{
		sink: sink.NewHTTP(url, sink.WithTimeout(5*time.Second)), source: "/knshop/" + function, log: log,
		kick: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{}), every: 200 * time.Millisecond,
	}
	go r.run()
	return r
}

// Report queues entries without waiting; a nil Reporter drops them.
func (r *Reporter) Report(entries ...Entry) {
	if r == nil {
		return
	}
	r.mu.Lock()
	n := min(len(entries), maxQueued-len(r.queue))
	r.queue = append(r.queue, entries[:n]...)
	full := len(r.queue) >= MaxReport
	r.mu.Unlock()
	if n < len(entries) {
		dropped.WithLabelValues("buffer_full").Add(len(entries) - n)
	}
	if full {
		select {
		case r.kick <- struct{}{}:
		default:
		}
	}
}

// Close sends what is queued and stops.
func (r *Reporter) Close(ctx context.Context) error {
	if r == nil {
		return nil
	}
	r.once.Do(func() { close(r.quit) })
	select {
	case <-r.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("timeline: reporter: %w", ctx.Err())
	}
}

// run sends what is queued every r.every, and at once when a full report
// is waiting; on Close, what is left.
func (r *Reporter) run() {
	defer close(r.done)
	tick := time.NewTicker(r.every)
	defer tick.Stop()
	for {
		select {
		case <-r.quit:
			r.sendQueued()
			return
		case <-r.kick:
		case <-tick.C:
		}
		r.sendQueued()
	}
}

// sendQueued takes the queue and sends it, MaxReport entries a report.
func (r *Reporter) sendQueued() {
	r.mu.Lock()
	queued := r.queue
	r.queue = nil
	r.mu.Unlock()
	for batch := range slices.Chunk(queued, MaxReport) {
		r.send(batch)
	}
}

// send posts one report, retrying once.
func (r *Reporter) send(batch []Entry) {
	if len(batch) == 0 {
		return
	}
	e := event.New()
	e.SetID(ids.New())
	e.SetType(ReportType)
	e.SetSource(r.source)
	e.SetTime(time.Now().UTC())
	if err := e.SetData(event.ApplicationJSON, batch); err != nil {
		dropped.WithLabelValues("encode").Add(len(batch))
		return
	}
	ctx := context.Background()
	err := r.sink.Send(ctx, e)
	if err != nil {
		time.Sleep(r.every)
		err = r.sink.Send(ctx, e)
	}
	if err != nil {
		dropped.WithLabelValues("not_taken").Add(len(batch))
		r.log.Debug("timeline: report dropped", "entries", len(batch), "error", err)
		return
	}
	sent.WithLabelValues().Add(len(batch))
}

// Entries decodes a report's data: at most MaxReport valid entries.
func Entries(e event.Event) ([]Entry, error) {
	var out []Entry
	if err := json.Unmarshal(e.Data(), &out); err != nil {
		return nil, fmt.Errorf("timeline: report %s: %w", e.ID(), err)
	}
	if len(out) > MaxReport {
		return nil, fmt.Errorf("timeline: report %s has %d entries, at most %d", e.ID(), len(out), MaxReport)
	}
	for _, en := range out {
		if en.Kind == KindEvent {
			return nil, fmt.Errorf("timeline: report %s: invalid entry %q (%s)", e.ID(), en.ID, en.Kind)
		}
		if _, err := rowOf(en); err != nil {
			return nil, fmt.Errorf("timeline: report %s: %w", e.ID(), err)
		}
	}
	return out, nil
}

// NewID is a fresh entry id.
func NewID(kind Kind) string { return string(kind) + "-" + ids.New() }

// reporterKey carries a Reporter in a context.
type reporterKey struct{}

// WithReporter returns ctx carrying r.
func WithReporter(ctx context.Context, r *Reporter) context.Context {
	return context.WithValue(ctx, reporterKey{}, r)
}

// Report queues entries on the Reporter ctx carries, if any: how a
// function adds its own actions (a dead letter, a reconcile action).
func Report(ctx context.Context, entries ...Entry) {
	r, _ := ctx.Value(reporterKey{}).(*Reporter)
	r.Report(entries...)
}
