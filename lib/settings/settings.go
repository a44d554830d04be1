// Package settings reads a function's configuration (its cfg: the
// environment, or what a test gives) into types: the one reader every
// function and store uses.
//
// A Settings takes one part of the configuration at a time, each with the
// part's own reader (auth.ConfigFrom, sink.URLFrom, orderstore.ConfigFrom,
// ...), and keeps every error it meets, so that a function with several
// things wrong in its environment hears of all of them at its first start:
//
//	func ConfigFrom(cfg map[string]string) (Config, error) {
//		s := settings.Of(cfg)
//		c := Config{Store: settings.Read(s, orderstore.ConfigFrom), Auth: settings.Read(s, auth.ConfigFrom),
//			Window: s.Duration("RETURN_WINDOW", DefaultWindow)}
//		return c, s.Err("returns: config")
//	}
package settings

import (
	"errors"
	"fmt"
	"time"
)

// Settings is a configuration being read.
type Settings struct {
	cfg  map[string]string
	errs []error
}

// Of starts reading cfg.
func Of(cfg map[string]string) *Settings { return &Settings{cfg: cfg} }

// Read reads one part of s's configuration with read. When read fails, its
// error is kept for Err and the zero T is returned.
func Read[T any](s *Settings, read func(map[string]string) (T, error)) T {
	v, err := read(s.cfg)
	s.Check(err)
	return v
}

// Duration reads key as a positive Go duration ("90s", "15m"), def when
// key is unset or empty.
func (s *Settings) Duration(key string, def time.Duration) time.Duration {
	v := s.cfg[key]
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		s.Check(fmt.Errorf("%s=%q is not a positive duration", key, v))
		return def
	}
	return d
}

// Check keeps err, when it is not nil, for Err: the check of a setting
// that has no reader of its own.
func (s *Settings) Check(err error) {
	if err != nil {
		s.errs = append(s.errs, err)
	}
}

// Err is nil when every part was read, else every error kept, in the order
// met, after what ("payments: config").
func (s *Settings) Err(what string) error {
	if len(s.errs) == 0 {
		return nil
	}
	return fmt.Errorf("%s: %w", what, errors.Join(s.errs...))
}
