// Command funcproject writes what `func deploy` needs to deploy one knshop
// function as deploy/knative would: DIR/func.yaml (named after the
// function, on the given image, with its Service's environment, labels,
// scale and resources) and DIR/triggers.yaml (the Triggers that deliver to
// it, with their retries and dead-letter sink, for kubectl apply). `make
// func-deploy FUNCTION=NAME` runs it; docs/deploy.md explains the steps.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/knshop/knshop/deploy/manifests"
)

func main() {
	name := flag.String("function", "", "the knshop function to deploy (its Knative Service's name)")
	image := flag.String("image", "", "the image func build pushed, ideally by digest")
	out := flag.String("out", "", "directory to write func.yaml and triggers.yaml into")
	tree := flag.String("kustomize", "deploy/knative", "the kustomize tree the Services and Triggers are rendered from")
	flag.Parse()
	if err := run(context.Background(), *tree, *name, *image, *out); err != nil {
		fmt.Fprintln(os.Stderr, "funcproject:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, tree, name, image, out string) error {
	if name == "" || image == "" || out == "" {
		return fmt.Errorf("-function, -image and -out are required")
	}
	objs, err := manifests.BuildObjects(ctx, tree)
	if err != nil {
		return err
	}
	f, triggers, err := manifests.FuncProject(objs, name, image, time.Now().UTC().Format(time.RFC3339))
	if err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	data, err := yaml.Marshal(f)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(out, "func.yaml"), data, 0o644); err != nil {
		return err
	}
	var stream bytes.Buffer
	for _, t := range triggers {
		doc, err := yaml.Marshal(t)
		if err != nil {
			return err
		}
		stream.WriteString("---\n")
		stream.Write(doc)
	}
	if err := os.WriteFile(filepath.Join(out, "triggers.yaml"), stream.Bytes(), 0o644); err != nil {
		return err
	}
	fmt.Printf("wrote %s/func.yaml and %d Trigger(s) to %s/triggers.yaml\n", out, len(triggers), out)
	return nil
}
