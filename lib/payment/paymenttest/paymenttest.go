// Package paymenttest gives tests a stripe-mock server to run the Stripe
// gateway against, and a gateway wrapper that counts the money it moves.
package paymenttest

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/knshop/knshop/lib/storetest"
)

// StripeMock returns the URL of a stripe-mock: STRIPE_MOCK_URL when set
// (CI starts one), else one started from PATH or GOPATH/bin for this test.
// Without the binary the test is skipped, unless CI=true: then it fails.
func StripeMock(t testing.TB) string {
	t.Helper()
	if u := os.Getenv("STRIPE_MOCK_URL"); u != "" {
		return u
	}
	bin, err := exec.LookPath("stripe-mock")
	if err != nil {
		home, herr := os.UserHomeDir()
		candidates := []string{filepath.Join(os.Getenv("GOPATH"), "bin", "stripe-mock")}
		if herr == nil {
			candidates = append(candidates, filepath.Join(home, "go", "bin", "stripe-mock"))
		}
		for _, c := range candidates {
			if _, serr := os.Stat(c); serr == nil {
				bin, err = c, nil
				break
			}
		}
	}
	if err != nil {
		msg := "stripe-mock not found: go install github.com/stripe/stripe-mock@v0.203.0 or set STRIPE_MOCK_URL"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	addr := storetest.FreeAddr(t)
	cmd := exec.Command(bin, "-http-addr", addr)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start stripe-mock: %v", err)
	}
	t.Cleanup(func() {
		if err := cmd.Process.Kill(); err != nil {
			t.Logf("stop stripe-mock: %v", err)
		}
		if err := cmd.Wait(); err != nil {
			t.Logf("stripe-mock exited: %v", err)
		}
	})
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			if err := c.Close(); err != nil {
				t.Fatal(err)
			}
			return "http://" + addr
		}
		if time.Now().After(deadline) {
			t.Fatalf("stripe-mock did not listen on %s: %s", addr, out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
