package devstack

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/knshop/knshop/lib/storetest"
)

// The stack `make run` starts comes up with every part, takes a valid
// CloudEvent at the Broker ingress, answers the API through the gateway and
// stops cleanly.
func TestStackComesUpAndStops(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := Start(ctx, Options{
		DataDir: t.TempDir(), RepoDir: "../../..",
		GatewayAddr: "127.0.0.1:0", BrokerAddr: "127.0.0.1:0", KafkaAddr: "127.0.0.1:0",
		MongoAddr: "127.0.0.1:0", MySQLAddr: "127.0.0.1:0",
		Env: map[string]string{"LOG_LEVEL": "error"},
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	parts := map[string]bool{}
	for _, p := range s.Parts {
		parts[strings.Fields(p.Name)[0]] = true
	}
	for _, want := range []string{"kafka", "mongodb", "mysql", "broker", "gateway"} {
		if !parts[want] {
			t.Errorf("part %s is not running", want)
		}
	}

	post := func(url string, headers map[string]string, body string) int {
		t.Helper()
		var pairs []string
		for k, v := range headers {
			pairs = append(pairs, k, v)
		}
		return storetest.Call(t, http.MethodPost, url, "", body, pairs...).Status
	}
	ce := map[string]string{"Ce-Specversion": "1.0", "Ce-Id": "dev-1", "Ce-Type": "dev.knshop.ping", "Ce-Source": "/test", "Content-Type": "application/json"}
	if got := post(s.BrokerURL, ce, `{}`); got != http.StatusAccepted {
		t.Fatalf("broker ingress answered %d to a valid CloudEvent, want 202", got)
	}
	if got := post(s.BrokerURL, map[string]string{"Content-Type": "application/json"}, `{}`); got != http.StatusBadRequest {
		t.Fatalf("broker ingress answered %d to a non-CloudEvent, want 400", got)
	}
	resp, err := http.Get(s.GatewayURL + "/api/no-such-area")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound || resp.Header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("unknown area: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	for name, base := range s.Functions {
		resp, err := http.Get(base + "/health/readiness")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("function %s is not ready: %d", name, resp.StatusCode)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}
