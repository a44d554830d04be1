package fn

import (
	"context"
	"io"
	"log/slog"
	"strings"
)

type loggerKey struct{}

// WithLogger returns ctx carrying log.
func WithLogger(ctx context.Context, log *slog.Logger) context.Context {
	return context.WithValue(ctx, loggerKey{}, log)
}

// Logger returns the logger carried by ctx: one that already names the
// function and, inside a handler, the event id and trace id. Without one it
// returns slog.Default().
func Logger(ctx context.Context) *slog.Logger {
	if l, ok := ctx.Value(loggerKey{}).(*slog.Logger); ok {
		return l
	}
	return slog.Default()
}

// NewLogger returns a JSON logger writing to w at the level named by
// LOG_LEVEL in cfg (debug, info, warn, error; default info).
func NewLogger(w io.Writer, cfg map[string]string) *slog.Logger {
	var level slog.Level
	switch strings.ToLower(cfg["LOG_LEVEL"]) {
	case "debug":
		level = slog.LevelDebug
	case "warn":
		level = slog.LevelWarn
	case "error":
		level = slog.LevelError
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level}))
}
