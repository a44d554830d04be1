package broker

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	eventingv1 "knative.dev/eventing/pkg/apis/eventing/v1"
	"knative.dev/pkg/apis"
	duckv1 "knative.dev/pkg/apis/duck/v1"
	"sigs.k8s.io/yaml"
)

// KafkaBrokerClass is the broker class annotation value this data plane serves.
const KafkaBrokerClass = "Kafka"

// DefaultTopicPartitions is used when kafka-broker-config does not say.
const DefaultTopicPartitions = 10

const (
	brokerClassAnnotation = "eventing.knative.dev/broker.class"
	partitionsKey         = "default.topic.partitions"
	replicationKey        = "default.topic.replication.factor"
)

// Sentinel errors of configuration loading.
var (
	// ErrInvalidObject is returned for an object that fails decoding or Knative validation.
	ErrInvalidObject = errors.New("broker: invalid object")
	// ErrUnknownBroker is returned for a Trigger whose Broker was not loaded.
	ErrUnknownBroker = errors.New("broker: unknown broker")
	// ErrUnsupportedClass is returned for a Broker whose class is not Kafka.
	ErrUnsupportedClass = errors.New("broker: unsupported broker class")
	// ErrMissingConfigMap is returned when a Broker's spec.config names a ConfigMap that was not loaded.
	ErrMissingConfigMap = errors.New("broker: missing broker config map")
)

// Config is the set of Brokers and Triggers the data plane serves.
type Config struct {
	// Brokers are the Kafka-class Brokers, each with its topic settings.
	Brokers []BrokerConfig
	// Triggers are defaulted and validated; each names one of Brokers.
	Triggers []*eventingv1.Trigger
}

// BrokerConfig is one Broker and the topic settings from its kafka-broker-config.
type BrokerConfig struct {
	// Broker is the defaulted and validated object.
	Broker *eventingv1.Broker
	// Partitions is default.topic.partitions, used when the topic is created.
	Partitions int32
	// ReplicationFactor is default.topic.replication.factor.
	ReplicationFactor int16
}

// Topic is the Kafka topic that holds the Broker's events.
func (b BrokerConfig) Topic() string {
	return TopicName(b.Broker.Namespace, b.Broker.Name)
}

// TopicName is the topic of the Broker namespace/name, named as the Knative Kafka Broker names it.
func TopicName(namespace, name string) string {
	return "knative-broker-" + namespace + "-" + name
}

// GroupName is the consumer group of the Trigger namespace/name.
func GroupName(namespace, name string) string {
	return "knative-trigger-" + namespace + "-" + name
}

// LoadOption changes how objects are loaded.
type LoadOption func(*loadOptions)

type loadOptions struct {
	namespace string
}

// WithDefaultNamespace sets the namespace of objects that name none (default "default"),
// as kubectl apply -n would.
func WithDefaultNamespace(ns string) LoadOption {
	return func(o *loadOptions) { o.namespace = ns }
}

// LoadDir loads dir/brokers/*.yaml and dir/triggers/*.yaml.
func LoadDir(dir string, opts ...LoadOption) (Config, error) {
	var files []string
	for _, sub := range []string{"brokers", "triggers"} {
		for _, pattern := range []string{"*.yaml", "*.yml"} {
			m, err := filepath.Glob(filepath.Join(dir, sub, pattern))
			if err != nil {
				return Config{}, fmt.Errorf("broker: load dir: %w", err)
			}
			files = append(files, m...)
		}
	}
	sort.Strings(files)
	return LoadFiles(files, opts...)
}

// Load is LoadFiles with the default options.
func Load(files ...string) (Config, error) {
	return LoadFiles(files)
}

// LoadFiles decodes Brokers, their ConfigMaps and Triggers from multi-document
// YAML files, applies Knative defaults and validates each object as on create.
// Objects of other kinds are skipped.
func LoadFiles(files []string, opts ...LoadOption) (Config, error) {
	o := loadOptions{namespace: "default"}
	for _, opt := range opts {
		opt(&o)
	}
	var objs objects
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			return Config{}, fmt.Errorf("broker: load: %w", err)
		}
		if err := objs.decodeAll(raw, o.namespace); err != nil {
			return Config{}, fmt.Errorf("broker: load %s: %w", f, err)
		}
	}
	return objs.config(context.Background())
}

type objects struct {
	brokers    []*eventingv1.Broker
	triggers   []*eventingv1.Trigger
	configMaps map[string]*corev1.ConfigMap
}

func (o *objects) decodeAll(raw []byte, namespace string) error {
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(raw)))
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read document: %w", err)
		}
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		if err := o.decode(doc, namespace); err != nil {
			return err
		}
	}
}

func (o *objects) decode(doc []byte, namespace string) error {
	var tm metav1.TypeMeta
	if err := yaml.Unmarshal(doc, &tm); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidObject, err)
	}
	switch {
	case tm.APIVersion == "eventing.knative.dev/v1" && tm.Kind == "Broker":
		b := &eventingv1.Broker{}
		if err := decodeStrict(doc, b, &b.ObjectMeta, namespace); err != nil {
			return err
		}
		o.brokers = append(o.brokers, b)
	case tm.APIVersion == "eventing.knative.dev/v1" && tm.Kind == "Trigger":
		t := &eventingv1.Trigger{}
		if err := decodeStrict(doc, t, &t.ObjectMeta, namespace); err != nil {
			return err
		}
		o.triggers = append(o.triggers, t)
	case tm.APIVersion == "v1" && tm.Kind == "ConfigMap":
		cm := &corev1.ConfigMap{}
		if err := decodeStrict(doc, cm, &cm.ObjectMeta, namespace); err != nil {
			return err
		}
		if o.configMaps == nil {
			o.configMaps = map[string]*corev1.ConfigMap{}
		}
		o.configMaps[cm.Namespace+"/"+cm.Name] = cm
	}
	return nil
}

func decodeStrict(doc []byte, into any, meta *metav1.ObjectMeta, namespace string) error {
	if err := yaml.UnmarshalStrict(doc, into); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidObject, err)
	}
	if meta.Namespace == "" {
		meta.Namespace = namespace
	}
	return nil
}

func (o *objects) config(ctx context.Context) (Config, error) {
	ctx = apis.WithinCreate(ctx)
	var cfg Config
	known := map[string]bool{}
	for _, b := range o.brokers {
		bc, err := o.brokerConfig(ctx, b)
		if err != nil {
			return Config{}, err
		}
		known[b.Namespace+"/"+b.Name] = true
		cfg.Brokers = append(cfg.Brokers, bc)
	}
	for _, t := range o.triggers {
		t.SetDefaults(ctx)
		if fe := t.Validate(ctx); fe != nil {
			return Config{}, fmt.Errorf("%w: trigger %s/%s: %w", ErrInvalidObject, t.Namespace, t.Name, fe)
		}
		if !known[t.Namespace+"/"+TriggerBroker(t)] {
			return Config{}, fmt.Errorf("%w: trigger %s/%s names broker %q", ErrUnknownBroker, t.Namespace, t.Name, TriggerBroker(t))
		}
		cfg.Triggers = append(cfg.Triggers, t)
	}
	return cfg, nil
}

func (o *objects) brokerConfig(ctx context.Context, b *eventingv1.Broker) (BrokerConfig, error) {
	b.SetDefaults(ctx)
	if fe := b.Validate(ctx); fe != nil {
		return BrokerConfig{}, fmt.Errorf("%w: broker %s/%s: %w", ErrInvalidObject, b.Namespace, b.Name, fe)
	}
	if class := b.Annotations[brokerClassAnnotation]; class != KafkaBrokerClass {
		return BrokerConfig{}, fmt.Errorf("%w: broker %s/%s has class %q", ErrUnsupportedClass, b.Namespace, b.Name, class)
	}
	bc := BrokerConfig{Broker: b, Partitions: DefaultTopicPartitions, ReplicationFactor: 1}
	ref := b.Spec.Config
	if ref == nil || ref.Kind != "ConfigMap" {
		return bc, nil
	}
	ns := ref.Namespace
	if ns == "" {
		ns = b.Namespace
	}
	cm, ok := o.configMaps[ns+"/"+ref.Name]
	if !ok {
		return BrokerConfig{}, fmt.Errorf("%w: broker %s/%s needs %s/%s", ErrMissingConfigMap, b.Namespace, b.Name, ns, ref.Name)
	}
	if v, ok := cm.Data[partitionsKey]; ok {
		n, err := strconv.ParseInt(v, 10, 32)
		if err != nil || n < 1 {
			return BrokerConfig{}, fmt.Errorf("%w: config map %s/%s: %s=%q", ErrInvalidObject, ns, ref.Name, partitionsKey, v)
		}
		bc.Partitions = int32(n)
	}
	if v, ok := cm.Data[replicationKey]; ok {
		n, err := strconv.ParseInt(v, 10, 16)
		if err != nil || n < 1 {
			return BrokerConfig{}, fmt.Errorf("%w: config map %s/%s: %s=%q", ErrInvalidObject, ns, ref.Name, replicationKey, v)
		}
		bc.ReplicationFactor = int16(n)
	}
	return bc, nil
}

// TriggerBroker is the name of the Broker the Trigger subscribes to.
func TriggerBroker(t *eventingv1.Trigger) string {
	if t.Spec.BrokerRef != nil {
		return t.Spec.BrokerRef.Name
	}
	return t.Spec.Broker
}

// Resolver turns a reference to an addressable object (a Knative Service,
// usually) into the URL events are sent to.
type Resolver interface {
	Resolve(ref duckv1.KReference) (*url.URL, error)
}

// ResolverFunc adapts a function to Resolver.
type ResolverFunc func(ref duckv1.KReference) (*url.URL, error)

// Resolve calls f.
func (f ResolverFunc) Resolve(ref duckv1.KReference) (*url.URL, error) { return f(ref) }

// ErrUnresolvable is returned for a destination that names neither a URI nor a resolvable ref.
var ErrUnresolvable = errors.New("broker: unresolvable destination")

// resolveDestination returns the URL of a Destination: its uri, its ref's URL,
// or the uri taken relative to the ref's URL when both are set.
func resolveDestination(r Resolver, d duckv1.Destination) (*url.URL, error) {
	if d.Ref == nil {
		if d.URI == nil {
			return nil, ErrUnresolvable
		}
		return d.URI.URL(), nil
	}
	if r == nil {
		return nil, fmt.Errorf("%w: no resolver for %s %s", ErrUnresolvable, d.Ref.Kind, d.Ref.Name)
	}
	base, err := r.Resolve(*d.Ref)
	if err != nil {
		return nil, fmt.Errorf("%w: %s %s: %w", ErrUnresolvable, d.Ref.Kind, d.Ref.Name, err)
	}
	if d.URI != nil {
		return base.ResolveReference(d.URI.URL()), nil
	}
	return base, nil
}
