package main

import (
	"os/exec"
	"strings"
	"testing"
)

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
