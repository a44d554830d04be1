package manifests

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	eventingv1 "knative.dev/eventing/pkg/apis/eventing/v1"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"
	"sigs.k8s.io/yaml"

	"github.com/knshop/knshop/functions"
)

const testImage = "example.com/knshop/knshop@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestFuncProjectOfEveryFunction(t *testing.T) {
	t.Parallel()
	objs := builtObjects(t)
	ksvcs := ofKind[servingv1.Service](t, objs)
	triggers := ofKind[eventingv1.Trigger](t, objs)
	for _, name := range functions.Names(functions.All) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f, ts, err := FuncProject(objs, name, testImage, "2026-01-01T00:00:00Z")
			if err != nil {
				t.Fatal(err)
			}
			if f.Name != name || f.Image != testImage || f.Deploy.Image != testImage || f.Deploy.Namespace != "knshop" {
				t.Fatalf("name %q image %q/%q namespace %q", f.Name, f.Image, f.Deploy.Image, f.Deploy.Namespace)
			}
			// Every variable of the Service, with the same value or the
			// same Secret or ConfigMap key.
			svc := ksvcs[name]
			env := svc.Spec.Template.Spec.Containers[0].Env
			if len(f.Run.Envs) != len(env) {
				t.Fatalf("func.yaml has %d envs, the Service %d", len(f.Run.Envs), len(env))
			}
			for i, e := range env {
				got := f.Run.Envs[i]
				want := e.Value
				switch {
				case e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil:
					want = "{{ secret:" + e.ValueFrom.SecretKeyRef.Name + ":" + e.ValueFrom.SecretKeyRef.Key + " }}"
				case e.ValueFrom != nil && e.ValueFrom.ConfigMapKeyRef != nil:
					want = "{{ configMap:" + e.ValueFrom.ConfigMapKeyRef.Name + ":" + e.ValueFrom.ConfigMapKeyRef.Key + " }}"
				}
				if got.Name != e.Name || got.Value != want {
					t.Errorf("env %d = %s=%q, want %s=%q", i, got.Name, got.Value, e.Name, want)
				}
			}
			// The labels the SinkBinding selects on, and the visibility.
			for k, v := range svc.Labels {
				if !slices.Contains(f.Deploy.Labels, FuncLabel{Key: k, Value: v}) {
					t.Errorf("label %s=%s missing", k, v)
				}
			}
			ann := svc.Spec.Template.Annotations
			if s := f.Deploy.Options.Scale; s.Max == nil || s.Min == nil || fmt.Sprint(*s.Min) != ann["autoscaling.knative.dev/min-scale"] || fmt.Sprint(*s.Max) != ann["autoscaling.knative.dev/max-scale"] {
				t.Errorf("scale %+v, want the Service's min %s and max %s", s, ann["autoscaling.knative.dev/min-scale"], ann["autoscaling.knative.dev/max-scale"])
			}
			if c := f.Deploy.Options.Resources.Limits.Concurrency; c == nil || svc.Spec.Template.Spec.ContainerConcurrency == nil || *c != *svc.Spec.Template.Spec.ContainerConcurrency {
				t.Errorf("limits.concurrency %v, want the Service's containerConcurrency", c)
			}
			// Exactly the Triggers that deliver to it, with their delivery.
			var want []string
			for tn, tr := range triggers {
				if tr.Spec.Subscriber.Ref != nil && tr.Spec.Subscriber.Ref.Name == name {
					want = append(want, tn)
				}
			}
			var got []string
			for _, tr := range ts {
				got = append(got, tr.Name)
				if _, isObserver := observers[tr.Name]; tr.Spec.Delivery == nil || tr.Spec.Delivery.Retry == nil || (!isObserver && tr.Spec.Delivery.DeadLetterSink == nil) {
					t.Errorf("trigger %s lost its delivery spec", tr.Name)
				}
			}
			slices.Sort(want)
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Errorf("triggers %v, want %v", got, want)
			}
		})
	}
	if _, _, err := FuncProject(objs, "no-such-function", testImage, "2026-01-01T00:00:00Z"); err == nil {
		t.Error("FuncProject of an unknown function succeeded")
	}
}

// TestFuncCLIReadsTheProject has the real func CLI read a generated
// func.yaml back: the environment it would deploy and the labels.
func TestFuncCLIReadsTheProject(t *testing.T) {
	if _, err := exec.LookPath("func"); err != nil {
		t.Skip("no func binary on PATH (CI puts the Knative Functions CLI there)")
	}
	t.Parallel()
	f, _, err := FuncProject(builtObjects(t), "reserve-stock", testImage, "2026-01-01T00:00:00Z")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	data, err := yaml.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "func.yaml"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) string {
		cmd := exec.CommandContext(t.Context(), "func", args...)
		cmd.Env = append(os.Environ(), "XDG_CONFIG_HOME="+t.TempDir())
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("func %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	envs := run("config", "envs", "-p", dir)
	for _, want := range []string{`Env "FUNCTION" with value "reserve-stock"`, `from key "uri" from Secret "knshop-mongodb"`} {
		if !strings.Contains(envs, want) {
			t.Errorf("func config envs does not say %q:\n%s", want, envs)
		}
	}
	if labels := run("config", "labels", "-p", dir); !strings.Contains(labels, `key "app.kubernetes.io/part-of" and value "knshop"`) {
		t.Errorf("func config labels:\n%s", labels)
	}
}
