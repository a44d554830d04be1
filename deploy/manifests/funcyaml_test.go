package manifests

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/knshop/knshop/lib/fn"
)

func TestRepositoryFuncYAML(t *testing.T) {
	t.Parallel()
	f, err := ReadFuncYAML(filepath.Join(root, "func.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if f.Deploy.Namespace != "knshop" {
		t.Errorf("deploy.namespace %q, want knshop", f.Deploy.Namespace)
	}
	if f.Runtime != "go" || f.Invoke != "http" {
		t.Errorf("runtime %q invoke %q, want go and http", f.Runtime, f.Invoke)
	}
	if f.Deploy.HealthEndpoints.Liveness != fn.LivenessPath || f.Deploy.HealthEndpoints.Readiness != fn.ReadinessPath {
		t.Errorf("health endpoints %+v, want the runtime's %s and %s", f.Deploy.HealthEndpoints, fn.LivenessPath, fn.ReadinessPath)
	}
	// The image holds every function: FUNCTION baked into func.yaml would
	// reach every Service func deploys and K_SERVICE could never choose.
	for _, e := range f.Run.Envs {
		if e.Name == "FUNCTION" || e.Name == "K_SERVICE" {
			t.Errorf("run.envs sets %s=%q: the Service's name must choose the function", e.Name, e.Value)
		}
	}
	if f.Build.Builder != "host" {
		t.Errorf("build.builder %q: only the host builder can build this module (docs/deploy.md)", f.Build.Builder)
	}
}

func TestFuncYAMLRules(t *testing.T) {
	t.Parallel()
	good, err := os.ReadFile(filepath.Join(root, "func.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		from, to string // replace in the repository's func.yaml
		wantErr  string // "" means valid
	}{
		"as committed":               {},
		"upper-case name":            {from: "name: knshop", to: "name: KnShop", wantErr: "name"},
		"name with a dot":            {from: "name: knshop", to: "name: kn.shop", wantErr: "name"},
		"unsupported runtime":        {from: "runtime: go", to: "runtime: cobol", wantErr: "runtime"},
		"unknown invoke":             {from: "invoke: http", to: "invoke: grpc", wantErr: "invoke"},
		"cloudevent invoke":          {from: "invoke: http", to: "invoke: cloudevent"},
		"unknown builder":            {from: "builder: host", to: "builder: docker", wantErr: "builder"},
		"pack builder":               {from: "builder: host", to: "builder: pack"},
		"min above max":              {from: "min: 0", to: "min: 20", wantErr: "min 20 is above max 10"},
		"unknown metric":             {from: "metric: concurrency", to: "metric: cpu", wantErr: "metric"},
		"rps metric":                 {from: "metric: concurrency", to: "metric: rps"},
		"bad quantity":               {from: "memory: 64Mi", to: "memory: lots", wantErr: "quantity"},
		"unknown top-level key":      {from: "runtime: go", to: "runtime: go\nlanguage: go", wantErr: "unknown field"},
		"unknown nested key":         {from: "  builder: host", to: "  builder: host\n  cache: true", wantErr: "unknown field"},
		"created missing":            {from: "created: \"2025-11-25T00:00:00Z\"", to: "", wantErr: "created"},
		"health endpoint not a path": {from: "liveness: /health/liveness", to: "liveness: health", wantErr: "health endpoint"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			doc := string(good)
			if tc.from != "" {
				if !strings.Contains(doc, tc.from) {
					t.Fatalf("func.yaml has no %q to replace", tc.from)
				}
				doc = strings.Replace(doc, tc.from, tc.to, 1)
			}
			_, err := ParseFuncYAML([]byte(doc))
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("ParseFuncYAML: %v", err)
			case tc.wantErr == "":
			case err == nil:
				t.Fatalf("ParseFuncYAML accepted it, want an error about %q", tc.wantErr)
			case !errors.Is(err, ErrFuncYAML) || !strings.Contains(err.Error(), tc.wantErr):
				t.Fatalf("ParseFuncYAML: %v, want ErrFuncYAML about %q", err, tc.wantErr)
			}
		})
	}
}
