package manifests

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	servingv1 "knative.dev/serving/pkg/apis/serving/v1"
	"sigs.k8s.io/yaml"
)

// root is the repository root, seen from this package's directory.
const root = "../.."

// yamlFiles lists every *.yaml file under the given repository folders.
func yamlFiles(t *testing.T, dirs ...string) []string {
	t.Helper()
	var files []string
	for _, d := range dirs {
		err := filepath.WalkDir(filepath.Join(root, d), func(path string, e fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !e.IsDir() && strings.HasSuffix(path, ".yaml") {
				files = append(files, path)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("walk %s: %v", d, err)
		}
	}
	if len(files) == 0 {
		t.Fatalf("no YAML files under %v", dirs)
	}
	return files
}

// jsonPatchOp is one RFC 6902 operation, as kustomize patches are written.
type jsonPatchOp struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	Value any    `json:"value,omitempty"`
	From  string `json:"from,omitempty"`
}

// TestRepositoryManifests decodes every YAML document in brokers/,
// triggers/ and deploy/knative/ strictly into its type and validates it.
func TestRepositoryManifests(t *testing.T) {
	t.Parallel()
	for _, path := range yamlFiles(t, "brokers", "triggers", "deploy/knative") {
		t.Run(strings.TrimPrefix(path, root+"/"), func(t *testing.T) {
			t.Parallel()
			if filepath.Base(filepath.Dir(path)) == "patches" {
				checkPatchFile(t, path)
				return
			}
			objs, err := ReadFile(t.Context(), path)
			if err != nil {
				t.Fatal(err)
			}
			if len(objs) == 0 {
				t.Fatal("no objects")
			}
		})
	}
}

// checkPatchFile decodes a kustomize JSON patch strictly.
func checkPatchFile(t *testing.T, path string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var ops []jsonPatchOp
	if err := yaml.UnmarshalStrict(data, &ops); err != nil {
		t.Fatalf("decode JSON patch: %v", err)
	}
	if len(ops) == 0 {
		t.Fatal("empty patch")
	}
	for _, op := range ops {
		switch op.Op {
		case "add", "replace", "remove", "test", "move", "copy":
		default:
			t.Errorf("op %q is not a JSON patch operation", op.Op)
		}
		if !strings.HasPrefix(op.Path, "/spec/template/spec/containers/0/") {
			t.Errorf("path %q does not target the function container", op.Path)
		}
	}
}

// built is the decoded output of kustomize build deploy/knative, shared by
// the tests (the build takes a moment).
var built = sync.OnceValues(func() ([]Object, error) {
	return BuildObjects(context.Background(), filepath.Join(root, "deploy/knative"))
})

func builtObjects(t *testing.T) []Object {
	t.Helper()
	objs, err := built()
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

// TestKustomizeBuild proves the kustomization builds in-process and that
// what it renders is what the cluster needs, every object valid.
func TestKustomizeBuild(t *testing.T) {
	t.Parallel()
	objs := builtObjects(t)
	count := map[string]int{}
	for _, o := range objs {
		count[o.APIVersion+" "+o.Kind]++
		for _, w := range o.Warnings {
			t.Errorf("%s %s: the Knative webhook would warn: %s", o.Kind, o.Name, w)
		}
		if o.Kind != "Namespace" && o.Namespace != "knshop" {
			t.Errorf("%s %s is in namespace %q, want knshop", o.Kind, o.Name, o.Namespace)
		}
	}
	want := map[string]int{
		"v1 Namespace":                           1,
		"v1 ConfigMap":                           2,
		"v1 Service":                             2,
		"apps/v1 StatefulSet":                    2,
		"networking.k8s.io/v1 Ingress":           11,
		"kafka.strimzi.io/v1beta2 Kafka":         1,
		"kafka.strimzi.io/v1beta2 KafkaNodePool": 1,
		"eventing.knative.dev/v1 Broker":         1,
		"eventing.knative.dev/v1 Trigger":        len(reactions) + len(observers),
		"serving.knative.dev/v1 Service":         len(allFunctionNames()),
		"sources.knative.dev/v1 SinkBinding":     1,
		"sources.knative.dev/v1 PingSource":      2,
	}
	for k, n := range want {
		if count[k] != n {
			t.Errorf("%s: %d objects, want %d", k, count[k], n)
		}
	}
	for k := range count {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected kind in the build: %s (a Secret here would put credentials in the repository)", k)
		}
	}
}

// TestDeployReplacesTheRenderedImage proves `make deploy` can find the image
// it substitutes: the placeholder in deploy/deploy.mk is exactly the image
// every rendered function runs.
func TestDeployReplacesTheRenderedImage(t *testing.T) {
	t.Parallel()
	mk, err := os.ReadFile(filepath.Join(root, "deploy/deploy.mk"))
	if err != nil {
		t.Fatal(err)
	}
	var placeholder string
	for _, line := range strings.Split(string(mk), "\n") {
		if v, ok := strings.CutPrefix(line, "IMAGE_PLACEHOLDER := "); ok {
			placeholder = strings.TrimSpace(v)
		}
	}
	if placeholder == "" {
		t.Fatal("deploy/deploy.mk sets no IMAGE_PLACEHOLDER")
	}
	n := 0
	for _, o := range builtObjects(t) {
		s, ok := o.Value.(*servingv1.Service)
		if !ok {
			continue
		}
		n++
		if img := s.Spec.Template.Spec.Containers[0].Image; img != placeholder {
			t.Errorf("%s runs %q; make deploy replaces %q", o.Name, img, placeholder)
		}
	}
	if n == 0 {
		t.Fatal("no Knative Services rendered")
	}
}
