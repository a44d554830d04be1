package broker

import (
	"errors"
	"net/url"
	"testing"

	duckv1 "knative.dev/pkg/apis/duck/v1"
)

func TestNewNeedsBootstrapServers(t *testing.T) {
	if _, err := New(loadTestConfig(t)); !errors.Is(err, ErrNoBootstrapServers) {
		t.Fatalf("err = %v, want ErrNoBootstrapServers", err)
	}
}

func TestStartFails(t *testing.T) {
	seeds := newKafka(t)
	unknown := errors.New("no such service")
	tests := map[string]struct {
		resolver Resolver
		want     error
	}{
		"no resolver for a ref subscriber": {nil, ErrUnresolvable},
		"resolver cannot resolve":          {ResolverFunc(func(duckv1.KReference) (*url.URL, error) { return nil, unknown }), unknown},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			s, err := New(loadTestConfig(t, "filters.yaml"), WithBootstrapServers(seeds...), WithResolver(tc.resolver))
			if err != nil {
				t.Fatal(err)
			}
			defer func() {
				if err := s.Close(); err != nil {
					t.Error(err)
				}
			}()
			if err := s.Start(t.Context()); !errors.Is(err, tc.want) {
				t.Fatalf("Start = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestStartTwice(t *testing.T) {
	seeds := newKafka(t)
	subs := newSubscribers(t, accept)
	s, _ := startServer(t, loadTestConfig(t, "filters.yaml"), seeds, subs.resolver())
	if err := s.Start(t.Context()); !errors.Is(err, ErrStarted) {
		t.Fatalf("second Start = %v, want ErrStarted", err)
	}
}
