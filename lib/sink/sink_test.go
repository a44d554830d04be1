package sink_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/knshop/knshop/lib/sink"
	"github.com/knshop/knshop/lib/storetest"
)

func newEvent(t *testing.T, id string) event.Event {
	t.Helper()
	e := storetest.OrderEvent(t, id, map[string]string{"orderId": "o1"})
	e.SetExtension("partitionkey", "o1")
	return e
}

func TestSendDelivers(t *testing.T) {
	rec := storetest.NewEventRecorder(t)
	want := newEvent(t, "e1")
	if err := sink.NewHTTP(rec.URL()).Send(t.Context(), want); err != nil {
		t.Fatal(err)
	}
	got := rec.Events()
	if len(got) != 1 {
		t.Fatalf("%d events arrived, want 1", len(got))
	}
	g := got[0]
	if g.ID() != "e1" || g.Type() != want.Type() || g.Subject() != "o1" || g.Extensions()["partitionkey"] != "o1" {
		t.Fatalf("arrived as %v", g)
	}
	if string(g.Data()) != string(want.Data()) {
		t.Fatalf("data %s, want %s", g.Data(), want.Data())
	}
}

func TestSendUsesBinaryMode(t *testing.T) {
	var ceID, contentType string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ceID, contentType = r.Header.Get("Ce-Id"), r.Header.Get("Content-Type")
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(srv.Close)
	if err := sink.NewHTTP(srv.URL).Send(t.Context(), newEvent(t, "e1")); err != nil {
		t.Fatal(err)
	}
	if ceID != "e1" || contentType != "application/json" {
		t.Fatalf("Ce-Id %q, Content-Type %q: not binary mode", ceID, contentType)
	}
}

func TestSendFailures(t *testing.T) {
	tests := map[string]struct {
		handler    http.HandlerFunc
		timeout    time.Duration
		wantStatus int
	}{
		"server error": {
			handler:    func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "down", http.StatusServiceUnavailable) },
			wantStatus: http.StatusServiceUnavailable,
		},
		"bad request": {
			handler:    func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "no", http.StatusBadRequest) },
			wantStatus: http.StatusBadRequest,
		},
		"redirect is not delivery": {
			handler:    func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNotModified) },
			wantStatus: http.StatusNotModified,
		},
		"too slow": {
			handler: func(w http.ResponseWriter, r *http.Request) {
				select {
				case <-r.Context().Done():
				case <-time.After(300 * time.Millisecond):
				}
				w.WriteHeader(http.StatusAccepted)
			},
			timeout: 50 * time.Millisecond,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(tc.handler)
			t.Cleanup(srv.Close)
			var opts []sink.Option
			if tc.timeout > 0 {
				opts = append(opts, sink.WithTimeout(tc.timeout))
			}
			err := sink.NewHTTP(srv.URL, opts...).Send(t.Context(), newEvent(t, "e1"))
			if err == nil {
				t.Fatal("Send succeeded")
			}
			if tc.wantStatus == 0 {
				if !errors.Is(err, context.DeadlineExceeded) {
					t.Fatalf("err = %v, want a deadline", err)
				}
				return
			}
			var se *sink.StatusError
			if !errors.As(err, &se) || se.Code != tc.wantStatus || !errors.Is(err, sink.ErrRejected) {
				t.Fatalf("err = %v, want status %d", err, tc.wantStatus)
			}
		})
	}
}

func TestSendToNobody(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	if err := sink.NewHTTP(url).Send(t.Context(), newEvent(t, "e1")); err == nil {
		t.Fatal("Send to a closed port succeeded")
	}
}

func TestURLFrom(t *testing.T) {
	if _, err := sink.URLFrom(map[string]string{}); !errors.Is(err, sink.ErrNoURL) {
		t.Fatalf("URLFrom without K_SINK = %v, want ErrNoURL", err)
	}
	if url, err := sink.URLFrom(map[string]string{"K_SINK": "http://broker"}); err != nil || url != "http://broker" {
		t.Fatalf("URLFrom = %q, %v", url, err)
	}
}

// Sends that overlap reuse their connections afterwards: rounds of 16 at
// once open 16 connections in all, not 16 a round (net/http's default
// client keeps 2 idle per host and dials the rest anew every time).
func TestConcurrentSendsReuseConnections(t *testing.T) {
	var dialed atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		time.Sleep(5 * time.Millisecond) // the sends overlap
		w.WriteHeader(http.StatusAccepted)
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			dialed.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	s := sink.NewHTTP(srv.URL)
	const inFlight, rounds = 16, 4
	for range rounds {
		var wg sync.WaitGroup
		errs := make(chan error, inFlight)
		for i := range inFlight {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- s.Send(t.Context(), newEvent(t, fmt.Sprint("e", i)))
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	if n := dialed.Load(); n > inFlight {
		t.Fatalf("%d connections for %d rounds of %d sends at once, want at most %d", n, rounds, inFlight, inFlight)
	}
}
