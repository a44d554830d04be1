package manifests

import (
	"context"
	"fmt"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// Build runs kustomize in-process on the kustomization in dir, reading the
// files from disk with kustomize's default load restrictions (as
// `kubectl kustomize` does), and returns the rendered YAML stream.
func Build(dir string) ([]byte, error) {
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	res, err := k.Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		return nil, fmt.Errorf("manifests: kustomize build %s: %w", dir, err)
	}
	out, err := res.AsYaml()
	if err != nil {
		return nil, fmt.Errorf("manifests: kustomize build %s: %w", dir, err)
	}
	return out, nil
}

// BuildObjects builds dir with kustomize and decodes every object it renders.
func BuildObjects(ctx context.Context, dir string) ([]Object, error) {
	out, err := Build(dir)
	if err != nil {
		return nil, err
	}
	return DecodeAll(ctx, "kustomize build "+dir, out)
}
