package broker

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestKcatInterop checks the topic against kcat (librdkafka), a Kafka client
// that shares no code with this package: it reads the ce_ headers and key the
// ingress wrote, and an event it produces reaches a matching trigger.
func TestKcatInterop(t *testing.T) {
	kcat, err := exec.LookPath("kcat")
	if err != nil {
		t.Skip("kcat is not on PATH; skipping the librdkafka interoperability test")
	}
	seeds := newKafka(t)
	subs := newSubscribers(t, accept)
	cfg := onlyTriggers(loadTestConfig(t, "flow.yaml"), "ordered")
	_, base := startServer(t, cfg, seeds, subs.resolver())

	e := newEvent(t, "via-ingress", "SEQUENCE", "/knshop/test", map[string]string{"partitionkey": "kc-1", "subject": "s-1"})
	if got := send(t, base, e, false); got != http.StatusAccepted {
		t.Fatalf("send: %d", got)
	}

	t.Run("consume sees binary-mode headers and key", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, kcat, "-C", "-b", seeds[0], "-t", testTopic, "-o", "beginning", "-e", "-J", "-q").Output()
		if err != nil {
			t.Fatalf("kcat -C: %v", err)
		}
		var found bool
		sc := bufio.NewScanner(bytes.NewReader(out))
		for sc.Scan() {
			var msg struct {
				Key     string   `json:"key"`
				Payload string   `json:"payload"`
				Headers []string `json:"headers"`
			}
			if err := json.Unmarshal(sc.Bytes(), &msg); err != nil {
				t.Fatalf("kcat output %q: %v", sc.Text(), err)
			}
			headers := map[string]string{}
			for i := 0; i+1 < len(msg.Headers); i += 2 {
				headers[msg.Headers[i]] = msg.Headers[i+1]
			}
			if headers["ce_id"] != "via-ingress" {
				continue
			}
			found = true
			want := map[string]string{"ce_specversion": "1.0", "ce_type": "SEQUENCE", "ce_source": "/knshop/test",
				"ce_subject": "s-1", "ce_partitionkey": "kc-1", "content-type": "application/json"}
			for k, v := range want {
				if headers[k] != v {
					t.Errorf("header %s = %q, want %q", k, headers[k], v)
				}
			}
			if msg.Key != "kc-1" {
				t.Errorf("key = %q, want kc-1", msg.Key)
			}
			if msg.Payload != `{"id":"via-ingress"}` {
				t.Errorf("payload = %q", msg.Payload)
			}
		}
		if !found {
			t.Fatalf("event not found in kcat output:\n%s", out)
		}
	})

	t.Run("produced event reaches the trigger", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, kcat, "-P", "-b", seeds[0], "-t", testTopic, "-k", "kc-2",
			"-H", "ce_specversion=1.0", "-H", "ce_id=via-kcat", "-H", "ce_type=SEQUENCE",
			"-H", "ce_source=/kcat", "-H", "ce_partitionkey=kc-2", "-H", "content-type=application/json")
		cmd.Stdin = strings.NewReader(`{"from":"kcat"}` + "\n")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("kcat -P: %v: %s", err, out)
		}
		waitFor(t, 20*time.Second, "kcat event delivered", func() bool {
			for _, r := range subs.events("ordered") {
				if r.event.ID() == "via-kcat" {
					return true
				}
			}
			return false
		})
		for _, r := range subs.events("ordered") {
			if r.event.ID() != "via-kcat" {
				continue
			}
			if r.event.Source() != "/kcat" || string(r.event.Data()) != `{"from":"kcat"}` {
				t.Errorf("delivered %v", r.event)
			}
		}
	})
}
