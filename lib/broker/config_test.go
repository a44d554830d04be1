package broker

import (
	"errors"
	"net/url"
	"path/filepath"
	"testing"

	"knative.dev/pkg/apis"
	duckv1 "knative.dev/pkg/apis/duck/v1"
)

func TestLoadDir(t *testing.T) {
	cfg, err := LoadDir("testdata")
	if err != nil {
		t.Fatalf("LoadDir: %v", err)
	}
	if len(cfg.Brokers) != 1 {
		t.Fatalf("brokers = %d, want 1", len(cfg.Brokers))
	}
	b := cfg.Brokers[0]
	if b.Topic() != "knative-broker-knshop-default" || b.Partitions != 3 || b.ReplicationFactor != 1 {
		t.Errorf("broker = %s partitions %d rf %d", b.Topic(), b.Partitions, b.ReplicationFactor)
	}
	names := map[string]bool{}
	for _, tr := range cfg.Triggers {
		names[tr.Name] = true
		if tr.Spec.Subscriber.Ref != nil && tr.Spec.Subscriber.Ref.Namespace != "knshop" {
			t.Errorf("trigger %s: subscriber ref namespace %q not defaulted", tr.Name, tr.Spec.Subscriber.Ref.Namespace)
		}
	}
	for _, want := range []string{"exact", "cesql", "both", "status-500", "replier", "ordered"} {
		if !names[want] {
			t.Errorf("trigger %q not loaded", want)
		}
	}
}

func TestLoadRejects(t *testing.T) {
	broker := filepath.Join("testdata", "brokers", "default.yaml")
	tests := map[string]struct {
		file string
		want error
	}{
		"unknown field":              {"unknown-field.yaml", ErrInvalidObject},
		"trigger without subscriber": {"no-subscriber.yaml", ErrInvalidObject},
		"trigger of unknown broker":  {"unknown-broker.yaml", ErrUnknownBroker},
		"broker class not Kafka":     {"mt-broker.yaml", ErrUnsupportedClass},
		"broker config not loaded":   {"missing-config.yaml", ErrMissingConfigMap},
		"invalid cesql":              {"bad-cesql.yaml", ErrInvalidObject},
		"invalid backoff delay":      {"bad-delivery.yaml", ErrInvalidObject},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			files := []string{filepath.Join("testdata", "invalid", tc.file)}
			if tc.file != "missing-config.yaml" {
				files = append([]string{broker}, files...)
			}
			_, err := Load(files...)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Load(%s) = %v, want %v", tc.file, err, tc.want)
			}
		})
	}
}

func TestLoadDefaultNamespace(t *testing.T) {
	cfg, err := LoadFiles([]string{filepath.Join("testdata", "invalid", "mt-broker.yaml")}, WithDefaultNamespace("other"))
	if !errors.Is(err, ErrUnsupportedClass) {
		t.Fatalf("err = %v, want ErrUnsupportedClass", err)
	}
	if len(cfg.Brokers) != 0 {
		t.Fatalf("config returned with an error: %+v", cfg)
	}
}

func TestResolveDestination(t *testing.T) {
	base, err := url.Parse("http://127.0.0.1:9000/fn/")
	if err != nil {
		t.Fatal(err)
	}
	resolver := ResolverFunc(func(ref duckv1.KReference) (*url.URL, error) {
		if ref.Name != "orders" {
			return nil, errors.New("no such service")
		}
		return base, nil
	})
	uri, err := apis.ParseURL("http://sink.example/x")
	if err != nil {
		t.Fatal(err)
	}
	rel, err := apis.ParseURL("sub/path")
	if err != nil {
		t.Fatal(err)
	}
	ref := &duckv1.KReference{Kind: "Service", APIVersion: "serving.knative.dev/v1", Name: "orders"}
	missing := &duckv1.KReference{Kind: "Service", APIVersion: "serving.knative.dev/v1", Name: "missing"}
	tests := map[string]struct {
		resolver Resolver
		dest     duckv1.Destination
		want     string
		wantErr  bool
	}{
		"uri is used as is":      {resolver, duckv1.Destination{URI: uri}, "http://sink.example/x", false},
		"ref resolves":           {resolver, duckv1.Destination{Ref: ref}, "http://127.0.0.1:9000/fn/", false},
		"uri is relative to ref": {resolver, duckv1.Destination{Ref: ref, URI: rel}, "http://127.0.0.1:9000/fn/sub/path", false},
		"unresolvable ref":       {resolver, duckv1.Destination{Ref: missing}, "", true},
		"ref without resolver":   {nil, duckv1.Destination{Ref: ref}, "", true},
		"empty destination":      {resolver, duckv1.Destination{}, "", true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := resolveDestination(tc.resolver, tc.dest)
			if tc.wantErr {
				if !errors.Is(err, ErrUnresolvable) {
					t.Fatalf("err = %v, want ErrUnresolvable", err)
				}
				return
			}
			if err != nil || got.String() != tc.want {
				t.Fatalf("got %v, %v; want %s", got, err, tc.want)
			}
		})
	}
}
