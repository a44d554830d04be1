package functions_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/knshop/knshop/functions"
	"github.com/knshop/knshop/lib/storetest"
)

// hello is an HTTP function for the serving test.
type hello struct{}

func (hello) Handle(w http.ResponseWriter, r *http.Request) {
	io.WriteString(w, "hello from "+r.URL.Path)
}

func TestRunServesTheNamedFunction(t *testing.T) {
	t.Parallel()
	addr := storetest.FreeAddr(t)
	registry := map[string]functions.Constructor{"hello": func() any { return hello{} }}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- functions.Serve(ctx, registry, map[string]string{"K_SERVICE": "hello", "LISTEN_ADDRESS": addr, "LOG_LEVEL": "error"})
	}()

	base := "http://" + addr
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(base + "/health/readiness")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready within 10s: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	resp, err := http.Get(base + "/api/x")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if string(body) != "hello from /api/x" {
		t.Fatalf("body %q", body)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run after cancel: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("run did not return after cancel")
	}
}

func TestRunRefusesWithoutAFunction(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		cfg  map[string]string
		want error
	}{
		"no name":      {cfg: map[string]string{}, want: functions.ErrNoFunctionName},
		"unknown name": {cfg: map[string]string{"FUNCTION": "nope"}, want: functions.ErrUnknownFunction},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			err := functions.Serve(t.Context(), map[string]functions.Constructor{}, tc.cfg)
			if !errors.Is(err, tc.want) {
				t.Fatalf("run: %v, want %v", err, tc.want)
			}
		})
	}
}
