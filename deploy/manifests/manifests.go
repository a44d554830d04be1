// Package manifests reads knshop's Kubernetes manifests (brokers/,
// triggers/, deploy/knative/ and what kustomize builds from them), decodes
// every object strictly into its API type, and runs on Knative objects the
// same defaulting and validation the Knative admission webhooks run, so a
// manifest that the cluster would reject fails here first.
package manifests

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	k8syaml "k8s.io/apimachinery/pkg/util/yaml"
	"knative.dev/pkg/apis"
	"sigs.k8s.io/yaml"
)

// ErrUnknownKind is returned for an apiVersion/kind this package has no type for.
var ErrUnknownKind = errors.New("manifests: unknown kind")

// ErrInvalid is returned for an object that decodes but breaks its API's rules.
var ErrInvalid = errors.New("manifests: invalid object")

// Object is one decoded manifest.
type Object struct {
	// Source names where the object came from: a file path and the
	// document's index in it.
	Source     string
	APIVersion string
	Kind       string
	Name       string
	Namespace  string
	// Value is a pointer to the typed object, e.g. *eventingv1.Trigger.
	Value any
	// Warnings are what a Knative webhook would accept but warn about.
	Warnings []string
}

// Documents splits a multi-document YAML stream, dropping empty documents
// (a file may start with comments and "---").
func Documents(data []byte) ([][]byte, error) {
	r := k8syaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var docs [][]byte
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("manifests: split documents: %w", err)
		}
		var probe map[string]any
		if err := yaml.Unmarshal(doc, &probe); err != nil {
			return nil, fmt.Errorf("manifests: split documents: %w", err)
		}
		if len(probe) > 0 {
			docs = append(docs, doc)
		}
	}
}

// Decode reads one YAML document strictly (an unknown field is an error)
// into the Go type of its apiVersion and kind, applies Knative defaults,
// and validates it as the admission webhook would on create.
func Decode(ctx context.Context, doc []byte) (Object, error) {
	var head unstructured.Unstructured
	if err := yaml.Unmarshal(doc, &head.Object); err != nil {
		return Object{}, fmt.Errorf("manifests: decode: %w", err)
	}
	o := Object{
		APIVersion: head.GetAPIVersion(),
		Kind:       head.GetKind(),
		Name:       head.GetName(),
		Namespace:  head.GetNamespace(),
	}
	k, ok := kinds[gvk{o.APIVersion, o.Kind}]
	if !ok {
		return o, fmt.Errorf("%w: %s %s", ErrUnknownKind, o.APIVersion, o.Kind)
	}
	v := k.new()
	if err := yaml.UnmarshalStrict(doc, v); err != nil {
		return o, fmt.Errorf("manifests: decode %s %q: %w", o.Kind, o.Name, err)
	}
	o.Value = v
	warnings, err := k.validate(ctx, v)
	if err != nil {
		return o, fmt.Errorf("%w: %s %q: %w", ErrInvalid, o.Kind, o.Name, err)
	}
	o.Warnings = warnings
	return o, nil
}

// DecodeAll decodes every document of a YAML stream; source names it in
// the returned objects and errors.
func DecodeAll(ctx context.Context, source string, data []byte) ([]Object, error) {
	docs, err := Documents(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", source, err)
	}
	out := make([]Object, 0, len(docs))
	for i, doc := range docs {
		o, err := Decode(ctx, doc)
		if err != nil {
			return nil, fmt.Errorf("%s#%d: %w", source, i, err)
		}
		o.Source = fmt.Sprintf("%s#%d", source, i)
		out = append(out, o)
	}
	return out, nil
}

// ReadFile decodes every document of the YAML file at path.
func ReadFile(ctx context.Context, path string) ([]Object, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("manifests: read: %w", err)
	}
	return DecodeAll(ctx, path, data)
}

// webhookValidated is what every Knative API type implements: the defaulting
// and validation its admission webhook runs.
type webhookValidated interface {
	apis.Defaultable
	apis.Validatable
}

// webhook defaults and validates v the way its Knative webhook does on
// create: errors reject the object, warnings are returned.
func webhook(ctx context.Context, v any) ([]string, error) {
	w, ok := v.(webhookValidated)
	if !ok {
		return nil, fmt.Errorf("manifests: %T has no webhook validation", v)
	}
	w.SetDefaults(ctx)
	fe := w.Validate(apis.WithinCreate(ctx))
	if errs := fe.Filter(apis.ErrorLevel); errs != nil {
		return nil, errs
	}
	var warnings []string
	if ws := fe.Filter(apis.WarningLevel); ws != nil {
		for _, w := range ws.WrappedErrors() {
			warnings = append(warnings, w.Error())
		}
	}
	return warnings, nil
}
