package function

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/knshop/knshop/functions"
)

// greeter is an HTTP function with every lifecycle hook.
type greeter struct {
	greeting string
	ready    bool
	stopped  bool
}

func (g *greeter) Handle(w http.ResponseWriter, r *http.Request) {
	io.WriteString(w, g.greeting+" "+r.URL.Path)
}

func (g *greeter) Start(_ context.Context, cfg map[string]string) error {
	if cfg["GREETING"] == "" {
		return errors.New("GREETING is not set")
	}
	g.greeting, g.ready = cfg["GREETING"], true
	return nil
}

func (g *greeter) Stop(context.Context) error          { g.stopped = true; return nil }
func (g *greeter) Ready(context.Context) (bool, error) { return g.ready, nil }
func (g *greeter) Alive(context.Context) (bool, error) { return !g.stopped, nil }

// replier is an event function that answers every event with a pong.
type replier struct{}

func (replier) Handle(_ context.Context, e event.Event) (*event.Event, error) {
	r := event.New()
	r.SetID("pong-" + e.ID())
	r.SetType("PONG")
	r.SetSource("/knshop/replier")
	return &r, nil
}

func testRegistry() map[string]functions.Constructor {
	return map[string]functions.Constructor{
		"greeter": func() any { return &greeter{} },
		"replier": func() any { return replier{} },
		"broken":  func() any { return "not a function" },
	}
}

func TestStartSelectsTheNamedFunction(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		cfg      map[string]string
		wantName string
		wantErr  error
	}{
		"FUNCTION names it":                {cfg: map[string]string{"FUNCTION": "greeter", "GREETING": "hi"}, wantName: "greeter"},
		"K_SERVICE when FUNCTION is unset": {cfg: map[string]string{"K_SERVICE": "replier"}, wantName: "replier"},
		"FUNCTION wins over K_SERVICE":     {cfg: map[string]string{"FUNCTION": "replier", "K_SERVICE": "knshop"}, wantName: "replier"},
		"no name":                          {cfg: map[string]string{}, wantErr: functions.ErrNoFunctionName},
		"unknown name":                     {cfg: map[string]string{"FUNCTION": "nope"}, wantErr: functions.ErrUnknownFunction},
		"start hook fails":                 {cfg: map[string]string{"FUNCTION": "greeter"}, wantErr: errAny},
		"not a function":                   {cfg: map[string]string{"FUNCTION": "broken"}, wantErr: errAny},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := &Function{registry: testRegistry()}
			err := f.Start(t.Context(), tc.cfg)
			switch {
			case tc.wantErr == nil && err != nil:
				t.Fatalf("Start: %v", err)
			case tc.wantErr != nil && err == nil:
				t.Fatalf("Start succeeded, want %v", tc.wantErr)
			case tc.wantErr != nil && tc.wantErr != errAny && !errors.Is(err, tc.wantErr):
				t.Fatalf("Start: %v, want %v", err, tc.wantErr)
			}
			if f.Name() != tc.wantName {
				t.Fatalf("selected %q, want %q", f.Name(), tc.wantName)
			}
			if ready, _ := f.Ready(t.Context()); ready != (tc.wantErr == nil) {
				t.Fatalf("Ready %v after Start error %v", ready, err)
			}
		})
	}
}

var errAny = errors.New("any error")

func TestHandleServesTheSelectedFunction(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		cfg        map[string]string
		req        func() *http.Request
		wantStatus int
		wantBody   string
		wantHeader map[string]string
	}{
		"before Start": {
			cfg:        nil,
			req:        func() *http.Request { return httptest.NewRequest(http.MethodGet, "/api/x", nil) },
			wantStatus: http.StatusServiceUnavailable, wantBody: ErrNotStarted.Error(),
		},
		"HTTP function": {
			cfg:        map[string]string{"FUNCTION": "greeter", "GREETING": "hello"},
			req:        func() *http.Request { return httptest.NewRequest(http.MethodGet, "/api/x", nil) },
			wantStatus: http.StatusOK, wantBody: "hello /api/x",
		},
		"health route of the runtime": {
			cfg:        map[string]string{"FUNCTION": "greeter", "GREETING": "hello"},
			req:        func() *http.Request { return httptest.NewRequest(http.MethodGet, "/health/readiness", nil) },
			wantStatus: http.StatusOK, wantBody: "ok",
		},
		"event function replies in binary mode": {
			cfg: map[string]string{"FUNCTION": "replier"},
			req: func() *http.Request {
				r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(`{}`))
				r.Header.Set("Ce-Specversion", "1.0")
				r.Header.Set("Ce-Id", "42")
				r.Header.Set("Ce-Type", "PING")
				r.Header.Set("Ce-Source", "/test")
				r.Header.Set("Content-Type", "application/json")
				return r
			},
			wantStatus: http.StatusOK,
			wantHeader: map[string]string{"Ce-Type": "PONG", "Ce-Id": "pong-42"},
		},
		"event function rejects a non-event": {
			cfg:        map[string]string{"FUNCTION": "replier"},
			req:        func() *http.Request { return httptest.NewRequest(http.MethodPost, "/", strings.NewReader(`x`)) },
			wantStatus: http.StatusBadRequest,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := &Function{registry: testRegistry()}
			if tc.cfg != nil {
				if err := f.Start(t.Context(), tc.cfg); err != nil {
					t.Fatalf("Start: %v", err)
				}
			}
			rec := httptest.NewRecorder()
			f.Handle(rec, tc.req())
			if rec.Code != tc.wantStatus {
				t.Fatalf("status %d, want %d (body %q)", rec.Code, tc.wantStatus, rec.Body)
			}
			if !strings.Contains(rec.Body.String(), tc.wantBody) {
				t.Fatalf("body %q, want it to contain %q", rec.Body, tc.wantBody)
			}
			for k, v := range tc.wantHeader {
				if got := rec.Header().Get(k); got != v {
					t.Fatalf("header %s = %q, want %q", k, got, v)
				}
			}
		})
	}
}

func TestLifecycleDelegates(t *testing.T) {
	t.Parallel()
	g := &greeter{}
	f := &Function{registry: map[string]functions.Constructor{"greeter": func() any { return g }}}
	ctx := t.Context()
	if alive, _ := f.Alive(ctx); !alive {
		t.Fatal("not alive before Start: the platform would restart a process that is only waiting")
	}
	if ready, _ := f.Ready(ctx); ready {
		t.Fatal("ready before Start")
	}
	if err := f.Stop(ctx); err != nil {
		t.Fatalf("Stop before Start: %v", err)
	}
	if err := f.Start(ctx, map[string]string{"FUNCTION": "greeter", "GREETING": "hi"}); err != nil {
		t.Fatalf("Start: %v", err)
	}
	if ready, _ := f.Ready(ctx); !ready {
		t.Fatal("not ready after Start")
	}
	if err := f.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if !g.stopped {
		t.Fatal("Stop did not reach the function")
	}
	if alive, _ := f.Alive(ctx); alive {
		t.Fatal("Alive did not ask the function")
	}
}

func TestNewUsesTheRegistry(t *testing.T) {
	t.Parallel()
	f := New()
	for name := range functions.All {
		if _, ok := f.registry[name]; !ok {
			t.Fatalf("New's registry lacks %s", name)
		}
	}
	if len(f.registry) != len(functions.All) {
		t.Fatalf("New's registry has %d functions, functions.All %d", len(f.registry), len(functions.All))
	}
}
