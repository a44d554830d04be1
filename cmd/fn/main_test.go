package main

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	function "github.com/knshop/knshop"
	"github.com/knshop/knshop/functions"
)

func TestListenAddress(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		cfg  map[string]string
		want string
	}{
		"default":                   {cfg: map[string]string{}, want: ":8080"},
		"Knative PORT":              {cfg: map[string]string{"PORT": "9000"}, want: ":9000"},
		"LISTEN_ADDRESS wins":       {cfg: map[string]string{"PORT": "9000", "LISTEN_ADDRESS": "127.0.0.1:7000"}, want: "127.0.0.1:7000"},
		"LISTEN_ADDRESS on its own": {cfg: map[string]string{"LISTEN_ADDRESS": ":8081"}, want: ":8081"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if got := listenAddress(tc.cfg); got != tc.want {
				t.Fatalf("listenAddress = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestEnviron(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		in   []string
		want map[string]string
	}{
		"plain":                  {in: []string{"A=1", "B=2"}, want: map[string]string{"A": "1", "B": "2"}},
		"value with equals sign": {in: []string{"MYSQL_DSN=u:p@tcp(h:3306)/?x=y"}, want: map[string]string{"MYSQL_DSN": "u:p@tcp(h:3306)/?x=y"}},
		"empty value kept":       {in: []string{"E="}, want: map[string]string{"E": ""}},
		"malformed dropped":      {in: []string{"NOEQUALS", "=x"}, want: map[string]string{}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got := environ(tc.in)
			if len(got) != len(tc.want) {
				t.Fatalf("environ = %v, want %v", got, tc.want)
			}
			for k, v := range tc.want {
				if got[k] != v {
					t.Fatalf("environ[%s] = %q, want %q", k, got[k], v)
				}
			}
		})
	}
}

// hello is an HTTP function for the serving test.
type hello struct{}

func (hello) Handle(w http.ResponseWriter, r *http.Request) {
	io.WriteString(w, "hello from "+r.URL.Path)
}

// freeAddr finds a loopback port nobody listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

func TestRunServesTheNamedFunction(t *testing.T) {
	t.Parallel()
	addr := freeAddr(t)
	registry := map[string]functions.Constructor{"hello": func() any { return hello{} }}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, registry, map[string]string{"K_SERVICE": "hello", "LISTEN_ADDRESS": addr, "LOG_LEVEL": "error"})
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
		"no name":      {cfg: map[string]string{}, want: function.ErrNoFunctionName},
		"unknown name": {cfg: map[string]string{"FUNCTION": "nope"}, want: function.ErrUnknownFunction},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			err := run(t.Context(), map[string]functions.Constructor{}, tc.cfg)
			if !errors.Is(err, tc.want) {
				t.Fatalf("run: %v, want %v", err, tc.want)
			}
		})
	}
}

// forbidden are packages the image must not link: the embedded servers and
// the local broker are for `knshop dev` and tests only.
var forbidden = []string{
	"github.com/FerretDB/",
	"github.com/dolthub/",
	"github.com/twmb/franz-go/pkg/kfake",
	"github.com/knshop/knshop/lib/broker",
	"github.com/knshop/knshop/lib/embedded",
}

func TestImageLinksNoEmbeddedServer(t *testing.T) {
	t.Parallel()
	out, err := exec.CommandContext(t.Context(), "go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 10 {
		t.Fatalf("go list returned %d packages: %q", len(deps), out)
	}
	for _, prefix := range forbidden {
		t.Run(prefix, func(t *testing.T) {
			for _, d := range deps {
				if strings.HasPrefix(d, prefix) || d == strings.TrimSuffix(prefix, "/") {
					t.Errorf("cmd/fn links %s", d)
				}
			}
		})
	}
}
