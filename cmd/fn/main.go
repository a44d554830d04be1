// Command fn is the entrypoint of the knshop container image. It serves the
// one knshop function named by FUNCTION (or, failing that, K_SERVICE) with
// the knshop runtime, on LISTEN_ADDRESS, else on PORT (which Knative sets),
// else on :8080. It links no embedded database, Kafka or broker: on a
// cluster those are real services.
package main

import (
	"context"
	"os"

	"github.com/knshop/knshop/functions"
	"github.com/knshop/knshop/lib/fn"
)

func main() {
	cfg := fn.Environ(os.Environ())
	if err := functions.Serve(context.Background(), functions.All, cfg); err != nil {
		fn.NewLogger(os.Stderr, cfg).Error("fn: exiting", "error", err)
		os.Exit(1)
	}
}
