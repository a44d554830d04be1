package fn

import (
	"context"
	"net/http"
	"time"

	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/knshop/knshop/lib/events"
	"github.com/knshop/knshop/lib/httpapi"
	"github.com/knshop/knshop/lib/timeline"
)

// eventHandler adapts an EventFunction to HTTP the way Knative expects: the
// reply event in a 200 binary-mode response, 204 without one, 400 for an
// event that can never be processed (not retried), 500 otherwise (retried).
type eventHandler struct {
	f    EventFunction
	name string // the function's name, for the metrics
}

func (h eventHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		httpapi.WriteProblem(w, r, httpapi.NewProblem(http.StatusMethodNotAllowed, "method-not-allowed", "a CloudEvent is POSTed here"))
		return
	}
	ctx := r.Context()
	log := Logger(ctx)
	begin := time.Now()
	e, err := cehttp.NewEventFromHTTPRequest(r)
	if err != nil {
		observeEvent(h.name, "", outcomeInvalid, 0)
		log.WarnContext(ctx, "rejected a request that is not a CloudEvent", "error", err)
		httpapi.WriteProblem(w, r, httpapi.BadRequest("not a valid CloudEvent: "+err.Error()))
		return
	}
	if err := e.Validate(); err != nil {
		observeEvent(h.name, "", outcomeInvalid, 0)
		log.WarnContext(ctx, "rejected an invalid CloudEvent", "error", err)
		httpapi.WriteProblem(w, r, httpapi.BadRequest("invalid CloudEvent: "+err.Error()))
		return
	}
	ctx = events.ContextFor(ctx, *e)
	ctx, span := startSpan(ctx, tracerFrom(ctx), events.Traceparent(ctx), "handle "+e.Type(), trace.SpanKindConsumer,
		attribute.String("cloudevents.event_id", e.ID()), attribute.String("cloudevents.event_type", e.Type()),
		attribute.String("cloudevents.event_source", e.Source()), attribute.String("cloudevents.event_subject", e.Subject()))
	log = log.With("event_id", e.ID(), "event_type", e.Type(), "trace_id", events.TraceID(events.Traceparent(ctx)))
	ctx = WithLogger(ctx, log)

	outcome := outcomeHandled
	defer func() {
		// The answer, as the span, the timeline and the metrics see it.
		status := outcomeStatus[outcome]
		endSpan(span, status)
		reportDelivery(ctx, h.name, *e, status, begin)
		observeEvent(h.name, e.Type(), outcome, time.Since(begin))
	}()
	reply, err := h.f.Handle(ctx, *e)
	switch {
	case err != nil && IsPermanent(err):
		outcome = outcomePermanent
		log.WarnContext(ctx, "event cannot be processed; not retrying", "error", err)
		httpapi.WriteProblem(w, r, httpapi.NewProblem(http.StatusBadRequest, "unprocessable-event", err.Error()))
	case err != nil:
		outcome = outcomeRetry
		log.ErrorContext(ctx, "event handling failed; the broker will retry", "error", err)
		httpapi.WriteProblem(w, r, httpapi.NewProblem(http.StatusInternalServerError, "transient", "transient failure"))
	case reply == nil:
		log.InfoContext(ctx, "event handled")
		w.WriteHeader(http.StatusNoContent)
	default:
		if err := reply.Validate(); err != nil {
			outcome = outcomeRetry
			log.ErrorContext(ctx, "handler built an invalid reply", "error", err)
			httpapi.WriteProblem(w, r, httpapi.NewProblem(http.StatusInternalServerError, "invalid-reply", "invalid reply event"))
			return
		}
		outcome = outcomeReplied
		log.InfoContext(ctx, "event handled with a reply", "reply_type", reply.Type(), "reply_id", reply.ID())
		if err := cehttp.WriteResponseWriter(ctx, binding.ToMessage(reply), http.StatusOK, w); err != nil {
			log.ErrorContext(ctx, "writing the reply failed", "error", err)
		}
	}
}

var _ http.Handler = eventHandler{}

// reportDelivery adds the delivery of e to function to the order's
// timeline: its answer and how long it took.
func reportDelivery(ctx context.Context, function string, e event.Event, status int, begin time.Time) {
	key := timeline.OrderKey(e)
	if key == "" {
		return
	}
	timeline.Report(ctx, timeline.Entry{
		ID: timeline.NewID(timeline.KindDelivery), OrderID: key, At: begin.UTC(), Kind: timeline.KindDelivery,
		Type: e.Type(), EventID: e.ID(), Source: e.Source(),
		Detail: map[string]any{"function": function, "status": status, "durationMs": time.Since(begin).Milliseconds()},
	})
}
