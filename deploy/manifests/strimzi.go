package manifests

import (
	"errors"
	"fmt"
	"slices"

	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Strimzi publishes no Go API types, so these model the part of its Kafka
// and KafkaNodePool schemas that knshop uses. Decoding is strict, so a field
// outside this subset (a typo, or ZooKeeper settings) fails.

// StrimziKafka is a kafka.strimzi.io/v1beta2 Kafka as knshop writes it.
type StrimziKafka struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              StrimziKafkaSpec `json:"spec"`
}

// StrimziKafkaSpec is the spec of a Kafka.
type StrimziKafkaSpec struct {
	Kafka          StrimziKafkaCluster    `json:"kafka"`
	EntityOperator *StrimziEntityOperator `json:"entityOperator,omitempty"`
}

// StrimziKafkaCluster is spec.kafka: version, listeners and broker config.
type StrimziKafkaCluster struct {
	Version         string            `json:"version"`
	MetadataVersion string            `json:"metadataVersion,omitempty"`
	Listeners       []StrimziListener `json:"listeners"`
	Config          map[string]any    `json:"config,omitempty"`
}

// StrimziListener is one Kafka listener.
type StrimziListener struct {
	Name string `json:"name"`
	Port int32  `json:"port"`
	Type string `json:"type"`
	TLS  bool   `json:"tls"`
}

// StrimziEntityOperator enables the topic and user operators.
type StrimziEntityOperator struct {
	TopicOperator *struct{} `json:"topicOperator,omitempty"`
	UserOperator  *struct{} `json:"userOperator,omitempty"`
}

// StrimziNodePool is a kafka.strimzi.io/v1beta2 KafkaNodePool.
type StrimziNodePool struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              StrimziNodePoolSpec `json:"spec"`
}

// StrimziNodePoolSpec is the spec of a KafkaNodePool.
type StrimziNodePoolSpec struct {
	Replicas  int32             `json:"replicas"`
	Roles     []string          `json:"roles"`
	Storage   StrimziStorage    `json:"storage"`
	Resources *StrimziResources `json:"resources,omitempty"`
}

// StrimziStorage is JBOD storage made of persistent volumes.
type StrimziStorage struct {
	Type    string          `json:"type"`
	Volumes []StrimziVolume `json:"volumes"`
}

// StrimziVolume is one JBOD volume.
type StrimziVolume struct {
	ID            int32  `json:"id"`
	Type          string `json:"type"`
	Size          string `json:"size"`
	DeleteClaim   bool   `json:"deleteClaim"`
	KRaftMetadata string `json:"kraftMetadata,omitempty"`
}

// StrimziResources are the node pool's pod resources.
type StrimziResources struct {
	Requests map[string]resource.Quantity `json:"requests,omitempty"`
	Limits   map[string]resource.Quantity `json:"limits,omitempty"`
}

// Strimzi annotations and labels knshop depends on.
const (
	strimziKRaft     = "strimzi.io/kraft"
	strimziNodePools = "strimzi.io/node-pools"
	strimziCluster   = "strimzi.io/cluster"
)

func checkKafka(k *StrimziKafka) error {
	for _, a := range []string{strimziKRaft, strimziNodePools} {
		if k.Annotations[a] != "enabled" {
			return fmt.Errorf("annotation %s must be enabled", a)
		}
	}
	if k.Spec.Kafka.Version == "" {
		return errors.New("spec.kafka.version is empty")
	}
	if len(k.Spec.Kafka.Listeners) == 0 {
		return errors.New("spec.kafka.listeners is empty")
	}
	for _, l := range k.Spec.Kafka.Listeners {
		if l.Name == "" || l.Port == 0 || l.Type == "" {
			return fmt.Errorf("listener %+v: name, port and type are required", l)
		}
	}
	return nil
}

func checkNodePool(p *StrimziNodePool) error {
	if p.Labels[strimziCluster] == "" {
		return fmt.Errorf("label %s is required", strimziCluster)
	}
	if p.Spec.Replicas < 1 {
		return errors.New("spec.replicas must be at least 1")
	}
	if len(p.Spec.Roles) == 0 {
		return errors.New("spec.roles is empty")
	}
	for _, r := range p.Spec.Roles {
		if !slices.Contains([]string{"controller", "broker"}, r) {
			return fmt.Errorf("spec.roles: unknown role %q", r)
		}
	}
	if p.Spec.Storage.Type != "jbod" || len(p.Spec.Storage.Volumes) == 0 {
		return errors.New("spec.storage must be jbod with at least one volume")
	}
	for _, v := range p.Spec.Storage.Volumes {
		if v.Type != "persistent-claim" {
			return fmt.Errorf("volume %d: type %q, want persistent-claim", v.ID, v.Type)
		}
		if _, err := resource.ParseQuantity(v.Size); err != nil {
			return fmt.Errorf("volume %d: size: %w", v.ID, err)
		}
	}
	return nil
}
