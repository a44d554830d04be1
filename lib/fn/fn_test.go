package fn

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
)

type echoHTTP struct {
	started, stopped bool
	ready            bool
}

func (f *echoHTTP) Handle(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/panic" {
		panic("boom")
	}
	io.WriteString(w, "hello "+r.URL.Path)
}
func (f *echoHTTP) Start(ctx context.Context, cfg map[string]string) error {
	f.started = cfg["OK"] == "yes"
	if !f.started {
		return errors.New("missing OK")
	}
	return nil
}
func (f *echoHTTP) Stop(ctx context.Context) error          { f.stopped = true; return nil }
func (f *echoHTTP) Ready(ctx context.Context) (bool, error) { return f.ready, nil }

type scriptedEvents struct{ err error }

func (s scriptedEvents) Handle(ctx context.Context, e event.Event) (*event.Event, error) {
	if s.err != nil {
		return nil, s.err
	}
	if e.Type() == "no.reply" {
		return nil, nil
	}
	r := event.New()
	r.SetID("reply-" + e.ID())
	r.SetType("reply")
	r.SetSource("/test")
	return &r, nil
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestHealthFollowsLifecycle(t *testing.T) {
	f := &echoHTTP{ready: true}
	inst, err := NewInstance("echo", f, quiet())
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(inst)
	defer srv.Close()
	status := func(path string) int {
		t.Helper()
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK && resp.Header.Get("Content-Type") != "application/problem+json" {
			t.Fatalf("%s answered %d as %q, want problem+json", path, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		return resp.StatusCode
	}
	if got := status(ReadinessPath); got != http.StatusServiceUnavailable {
		t.Fatalf("readiness before Start = %d, want 503", got)
	}
	if err := inst.Start(context.Background(), map[string]string{}); err == nil {
		t.Fatal("Start without config succeeded")
	}
	if err := inst.Start(context.Background(), map[string]string{"OK": "yes"}); err != nil {
		t.Fatal(err)
	}
	if got := status(ReadinessPath); got != http.StatusOK {
		t.Fatalf("readiness after Start = %d, want 200", got)
	}
	f.ready = false
	if got := status(ReadinessPath); got != http.StatusServiceUnavailable {
		t.Fatalf("readiness when Ready is false = %d, want 503", got)
	}
	if got := status(LivenessPath); got != http.StatusOK {
		t.Fatalf("liveness = %d, want 200", got)
	}
	if got := status("/panic"); got != http.StatusInternalServerError {
		t.Fatalf("a panicking handler answered %d, want 500", got)
	}
	if err := inst.Stop(context.Background()); err != nil || !f.stopped {
		t.Fatalf("Stop = %v, stopped %v", err, f.stopped)
	}
	f.ready = true
	if got := status(ReadinessPath); got != http.StatusServiceUnavailable {
		t.Fatalf("readiness after Stop = %d, want 503", got)
	}
}

func TestEventStatusMapping(t *testing.T) {
	cases := map[string]struct {
		fn         EventFunction
		method     string
		body       string
		headers    map[string]string
		wantStatus int
		wantReply  bool
	}{
		"reply in binary mode": {fn: scriptedEvents{}, wantStatus: 200, wantReply: true},
		"no reply":             {fn: scriptedEvents{}, headers: map[string]string{"Ce-Type": "no.reply"}, wantStatus: 204},
		"permanent error":      {fn: scriptedEvents{err: Permanent(errors.New("bad order"))}, wantStatus: 400},
		"transient error":      {fn: scriptedEvents{err: errors.New("db down")}, wantStatus: 500},
		"not a cloudevent":     {fn: scriptedEvents{}, headers: map[string]string{"Ce-Id": "", "Ce-Specversion": "", "Ce-Type": "", "Ce-Source": ""}, body: "hello", wantStatus: 400},
		"missing type":         {fn: scriptedEvents{}, headers: map[string]string{"Ce-Type": ""}, wantStatus: 400},
		"wrong method":         {fn: scriptedEvents{}, method: http.MethodGet, wantStatus: 405},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			h, err := Handler(tc.fn)
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(h)
			defer srv.Close()
			method := tc.method
			if method == "" {
				method = http.MethodPost
			}
			body := tc.body
			if body == "" {
				body = `{"a":1}`
			}
			req, err := http.NewRequest(method, srv.URL, strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range map[string]string{"Ce-Id": "e1", "Ce-Specversion": "1.0", "Ce-Type": "t", "Ce-Source": "/s", "Content-Type": "application/json"} {
				req.Header.Set(k, v)
			}
			for k, v := range tc.headers {
				if v == "" {
					req.Header.Del(k)
				} else {
					req.Header.Set(k, v)
				}
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("status = %d, want %d", resp.StatusCode, tc.wantStatus)
			}
			if tc.wantReply && (resp.Header.Get("Ce-Id") != "reply-e1" || resp.Header.Get("Ce-Type") != "reply") {
				t.Fatalf("reply headers = %v", resp.Header)
			}
		})
	}
}

func TestNewRejectsNonFunctions(t *testing.T) {
	if _, err := NewInstance("x", struct{}{}, quiet()); !errors.Is(err, ErrNotAFunction) {
		t.Fatalf("NewInstance(struct{}) = %v, want ErrNotAFunction", err)
	}
}

// slow is an HTTP function whose request outlives the shutdown signal.
type slow struct{ stopped chan struct{} }

func (s *slow) Handle(w http.ResponseWriter, r *http.Request) {
	time.Sleep(300 * time.Millisecond)
	io.WriteString(w, "done")
}
func (s *slow) Stop(ctx context.Context) error { close(s.stopped); return nil }

func TestShutdownDrainsInFlightRequests(t *testing.T) {
	f := &slow{stopped: make(chan struct{})}
	inst, err := NewInstance("slow", f, quiet())
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := inst.Start(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- inst.ServeListener(ctx, ln) }()
	body := make(chan string, 1)
	go func() {
		resp, err := http.Get("http://" + ln.Addr().String() + "/")
		if err != nil {
			body <- "error: " + err.Error()
			return
		}
		defer resp.Body.Close()
		var b bytes.Buffer
		io.Copy(&b, resp.Body)
		body <- b.String()
	}()
	time.Sleep(100 * time.Millisecond)
	cancel()
	if got := <-body; got != "done" {
		t.Fatalf("in-flight request got %q, want it to finish", got)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	select {
	case <-f.stopped:
	default:
		t.Fatal("Stop was not called")
	}
}

func TestPermanentIf(t *testing.T) {
	errGone := errors.New("gone")
	wrapped := fmt.Errorf("step: %w", errGone)
	if err := PermanentIf(wrapped, errGone); !IsPermanent(err) || !errors.Is(err, errGone) {
		t.Fatalf("PermanentIf(a target) = %v: not permanent, or the cause lost", err)
	}
	if err := PermanentIf(errors.New("db down"), errGone); IsPermanent(err) {
		t.Fatal("an error that is not a target became permanent")
	}
	if PermanentIf(nil, errGone) != nil {
		t.Fatal("nil became an error")
	}
}
