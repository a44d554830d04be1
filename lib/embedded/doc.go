// Package embedded runs in-process stand-ins for the servers knshop talks to:
// a Kafka protocol server (kfake), a MongoDB protocol server (FerretDB v1 on
// SQLite) and a MySQL protocol server (go-mysql-server over knshop's own
// B-tree storage, mysql_store.go).
//
// Only cmd/knshop and tests link this package; the image that runs on
// Knative talks to real servers and never pulls these dependencies in.
package embedded

import (
	"io"
	"log/slog"
)

// Option tunes an embedded server.
type Option func(*options)

type options struct {
	log *slog.Logger
}

// WithLogger sends the server's own logging to log. Without it the embedded
// servers are quiet.
func WithLogger(log *slog.Logger) Option {
	return func(o *options) { o.log = log }
}

func buildOptions(opts []Option) options {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// logger returns the configured logger, or one that drops everything.
func (o options) logger() *slog.Logger {
	if o.log != nil {
		return o.log
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}
