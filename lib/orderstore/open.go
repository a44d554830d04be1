package orderstore

import (
	"context"
	"errors"

	"github.com/knshop/knshop/lib/fn"
	"github.com/knshop/knshop/lib/outbox"
	"github.com/knshop/knshop/lib/sink"
)

// ErrNoSink is the error of OpenPublishing without K_SINK.
var ErrNoSink = errors.New("orderstore: K_SINK is not set")

// OpenPublishing opens the orders database cfg names (OpenFrom) with its
// outbox publishing to K_SINK, which it requires: the store of a function
// whose changes write events. A function holds it as a plain field and
// hands it to the runtime (fn.Use), which pings and closes it.
func OpenPublishing(ctx context.Context, cfg map[string]string) (*Store, error) {
	if cfg["K_SINK"] == "" {
		return nil, ErrNoSink
	}
	s, err := OpenFrom(ctx, cfg)
	if err != nil {
		return nil, err
	}
	s.PublishWith(outbox.NewSQL(s.DB(), sink.NewHTTP(cfg["K_SINK"]), fn.Logger(ctx)))
	return s, nil
}
