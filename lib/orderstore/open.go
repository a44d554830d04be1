package orderstore

import (
	"context"
	"fmt"

	"github.com/knshop/knshop/lib/fn"
	"github.com/knshop/knshop/lib/outbox"
	"github.com/knshop/knshop/lib/sink"
)

// OpenPublishing opens the orders database cfg names (OpenFrom) with its
// outbox publishing to K_SINK, which it requires: the store of a function
// whose changes write events. A function holds it as a plain field and
// hands it to the runtime (fn.Use), which pings and closes it.
func OpenPublishing(ctx context.Context, cfg map[string]string) (*Store, error) {
	url, err := sink.URLFrom(cfg)
	if err != nil {
		return nil, fmt.Errorf("orderstore: %w", err)
	}
	s, err := OpenFrom(ctx, cfg)
	if err != nil {
		return nil, err
	}
	s.PublishWith(outbox.NewSQL(s.DB(), sink.NewHTTP(url), fn.Logger(ctx)))
	return s, nil
}
