package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/knshop/knshop/cmd/knshop/devstack"
	"github.com/knshop/knshop/lib/storetest"
)

// knshop load against the whole local stack (in this process): it sets up
// its seller, customers and product, places orders at the offered rate,
// follows every one to its end and reports them with the stock check.
func TestLoadAgainstTheLocalStack(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole stack")
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	s, err := devstack.Start(ctx, devstack.Options{
		DataDir: t.TempDir(), RepoDir: "../..",
		GatewayAddr: "127.0.0.1:0", BrokerAddr: "127.0.0.1:0", KafkaAddr: "127.0.0.1:0",
		MongoAddr: "127.0.0.1:0", MySQLAddr: "127.0.0.1:0",
		Env: map[string]string{"LOG_LEVEL": "error", "SANDBOX_COURIER_DELAY": "50ms"},
		Log: storetest.Discard,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Log(err)
		}
	})
	var out bytes.Buffer
	timings := filepath.Join(t.TempDir(), "timings.csv")
	err = run([]string{"load", "--api", s.GatewayURL, "--rate", "5", "--duration", "2s", "--products", "2", "--customers", "3", "--stock", "50", "--timings", timings},
		map[string]string{}, &out, io.Discard)
	if err != nil {
		t.Fatalf("load: %v\n%s", err, out.String())
	}
	report := out.String()
	t.Log("\n" + report)
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`accepted: +1[01] \(`),
		regexp.MustCompile(`POST latency: +p50 \d+ ms, p99 \d+ ms`),
		regexp.MustCompile(`POST→PAID: +p50 \d+ ms, p99 \d+ ms \(1[01] paid\)`),
		regexp.MustCompile(`terminal: +COMPLETED 1[01]; 0 not ended`),
		regexp.MustCompile(`stock: +conserved \(\d+ left \+ 1[01] sold = 2 × 50\)`),
	} {
		if !want.MatchString(report) {
			t.Errorf("the report lacks %s", want)
		}
	}
	// One line per accepted order, in the order sent, each paid and ended.
	csv, err := os.ReadFile(timings)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(csv)), "\n")
	if lines[0] != "sent_ms,post_ms,to_paid_ms,status" || len(lines) < 11 || len(lines) > 12 {
		t.Fatalf("timings file:\n%s", csv)
	}
	line := regexp.MustCompile(`^(\d+\.\d),\d+\.\d,\d+\.\d,COMPLETED$`)
	last := -1.0
	for _, l := range lines[1:] {
		m := line.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("timings line %q", l)
		}
		sent, _ := strconv.ParseFloat(m[1], 64)
		if sent < last {
			t.Errorf("timings out of order: %v after %v", sent, last)
		}
		last = sent
	}
}

func TestLoadRefusesBadFlags(t *testing.T) {
	for _, args := range [][]string{{"load", "--rate", "0"}, {"load", "--products", "-1"}, {"load", "--duration", "x"}} {
		err := run(args, map[string]string{}, &bytes.Buffer{}, io.Discard)
		if err == nil || !(strings.Contains(err.Error(), "must be positive") || strings.Contains(err.Error(), "invalid value")) {
			t.Errorf("run(%q) = %v", args, err)
		}
	}
}
