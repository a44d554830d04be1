// Command fn is the entrypoint of the knshop container image. It serves the
// one knshop function named by FUNCTION (or, failing that, K_SERVICE) with
// the knshop runtime, on LISTEN_ADDRESS, else on PORT (which Knative sets),
// else on :8080. It links no embedded database, Kafka or broker: on a
// cluster those are real services.
package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	function "github.com/knshop/knshop"
	"github.com/knshop/knshop/functions"
	"github.com/knshop/knshop/lib/fn"
)

func main() {
	cfg := environ(os.Environ())
	if err := run(context.Background(), functions.All, cfg); err != nil {
		fn.NewLogger(os.Stderr, cfg).Error("fn: exiting", "error", err)
		os.Exit(1)
	}
}

// run serves the function cfg names from registry until ctx is done or the
// process is told to stop.
func run(ctx context.Context, registry map[string]functions.Constructor, cfg map[string]string) error {
	name, f, err := function.Select(registry, cfg)
	if err != nil {
		return fmt.Errorf("fn: %w", err)
	}
	return fn.Serve(ctx, name, f, cfg, listenAddress(cfg))
}

// listenAddress is where to listen: LISTEN_ADDRESS, else :PORT, else :8080.
func listenAddress(cfg map[string]string) string {
	if a := cfg["LISTEN_ADDRESS"]; a != "" {
		return a
	}
	if p := cfg["PORT"]; p != "" {
		return ":" + p
	}
	return ":8080"
}

// environ turns KEY=value pairs into the configuration map functions get.
func environ(pairs []string) map[string]string {
	cfg := make(map[string]string, len(pairs))
	for _, kv := range pairs {
		if k, v, ok := strings.Cut(kv, "="); ok && k != "" {
			cfg[k] = v
		}
	}
	return cfg
}
