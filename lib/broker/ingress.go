package broker

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/cloudevents/sdk-go/v2/binding"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"github.com/twmb/franz-go/pkg/kgo"
)

// producer writes records and waits for their acknowledgement.
type producer interface {
	ProduceSync(ctx context.Context, rs ...*kgo.Record) kgo.ProduceResults
}

// ingress takes CloudEvents over HTTP at /<namespace>/<broker> and writes
// them to the Broker's topic.
type ingress struct {
	topics   map[string]string // "/ns/name" -> topic
	producer producer
	logger   *slog.Logger
}

var _ http.Handler = (*ingress)(nil)

func (in *ingress) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	topic, ok := in.topics[r.URL.Path]
	if !ok {
		http.Error(w, "unknown broker", http.StatusNotFound)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBodySize)
	msg := cehttp.NewMessageFromHttpRequest(r)
	if msg.ReadEncoding() == binding.EncodingUnknown {
		http.Error(w, "not a CloudEvent", http.StatusBadRequest)
		return
	}
	e, err := binding.ToEvent(r.Context(), msg)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, "event too large", http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "malformed CloudEvent", http.StatusBadRequest)
		return
	}
	if err := e.Validate(); err != nil {
		http.Error(w, "invalid CloudEvent: "+err.Error(), http.StatusBadRequest)
		return
	}
	rec, err := encodeRecord(topic, *e)
	if err != nil {
		http.Error(w, "invalid CloudEvent", http.StatusBadRequest)
		return
	}
	if err := in.producer.ProduceSync(r.Context(), rec).FirstErr(); err != nil {
		in.logger.LogAttrs(r.Context(), slog.LevelError, "ingress produce failed",
			slog.String("topic", topic), slog.String("event_id", e.ID()), slog.Any("error", err))
		http.Error(w, "event not stored", http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}
