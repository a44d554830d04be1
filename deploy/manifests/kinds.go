package manifests

import (
	"context"
	"errors"
	"fmt"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	eventingv1 "knative.dev/eventing/pkg/apis/eventing/v1"
	sourcesv1 "knative.dev/eventing/pkg/apis/sources/v1"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"
	kustomizetypes "sigs.k8s.io/kustomize/api/types"
)

// gvk is an apiVersion and a kind as written in a manifest.
type gvk struct{ apiVersion, kind string }

// kind is how one apiVersion/kind is decoded and checked.
type kind struct {
	new      func() any
	validate func(ctx context.Context, v any) (warnings []string, err error)
}

// kinds are the kinds knshop's manifests may contain.
var kinds = map[gvk]kind{
	{"eventing.knative.dev/v1", "Broker"}:     {func() any { return &eventingv1.Broker{} }, webhook},
	{"eventing.knative.dev/v1", "Trigger"}:    {func() any { return &eventingv1.Trigger{} }, webhook},
	{"sources.knative.dev/v1", "SinkBinding"}: {func() any { return &sourcesv1.SinkBinding{} }, webhook},
	{"sources.knative.dev/v1", "PingSource"}:  {func() any { return &sourcesv1.PingSource{} }, webhook},
	{"serving.knative.dev/v1", "Service"}:     {func() any { return &servingv1.Service{} }, webhook},

	{"v1", "Namespace"}:                 {func() any { return &corev1.Namespace{} }, typed(checkNamespace)},
	{"v1", "ConfigMap"}:                 {func() any { return &corev1.ConfigMap{} }, typed(checkConfigMap)},
	{"v1", "Secret"}:                    {func() any { return &corev1.Secret{} }, typed(checkSecret)},
	{"v1", "Service"}:                   {func() any { return &corev1.Service{} }, typed(checkService)},
	{"apps/v1", "StatefulSet"}:          {func() any { return &appsv1.StatefulSet{} }, typed(checkStatefulSet)},
	{"networking.k8s.io/v1", "Ingress"}: {func() any { return &networkingv1.Ingress{} }, typed(checkIngress)},

	{"kafka.strimzi.io/v1beta2", "Kafka"}:         {func() any { return &StrimziKafka{} }, typed(checkKafka)},
	{"kafka.strimzi.io/v1beta2", "KafkaNodePool"}: {func() any { return &StrimziNodePool{} }, typed(checkNodePool)},

	{"kustomize.config.k8s.io/v1beta1", "Kustomization"}: {func() any { return &kustomizetypes.Kustomization{} }, typed(checkKustomization)},
}

// typed adapts a check of one concrete type to the kind table.
func typed[T any](f func(*T) error) func(context.Context, any) ([]string, error) {
	return func(_ context.Context, v any) ([]string, error) {
		t, ok := v.(*T)
		if !ok {
			return nil, fmt.Errorf("manifests: got %T", v)
		}
		return nil, f(t)
	}
}

func checkName(name string, rules func(string) []string) error {
	if msgs := rules(name); len(msgs) > 0 {
		return fmt.Errorf("metadata.name %q: %s", name, strings.Join(msgs, "; "))
	}
	return nil
}

func checkNamespace(n *corev1.Namespace) error {
	return checkName(n.Name, validation.IsDNS1123Label)
}

func checkConfigMap(c *corev1.ConfigMap) error {
	if err := checkName(c.Name, validation.IsDNS1123Subdomain); err != nil {
		return err
	}
	for k := range c.Data {
		if msgs := validation.IsConfigMapKey(k); len(msgs) > 0 {
			return fmt.Errorf("data[%s]: %s", k, strings.Join(msgs, "; "))
		}
	}
	return nil
}

func checkSecret(s *corev1.Secret) error {
	if err := checkName(s.Name, validation.IsDNS1123Subdomain); err != nil {
		return err
	}
	if len(s.Data)+len(s.StringData) == 0 {
		return errors.New("secret has no keys")
	}
	for k := range s.StringData {
		if msgs := validation.IsConfigMapKey(k); len(msgs) > 0 {
			return fmt.Errorf("stringData[%s]: %s", k, strings.Join(msgs, "; "))
		}
	}
	return nil
}

func checkService(s *corev1.Service) error {
	if err := checkName(s.Name, validation.IsDNS1035Label); err != nil {
		return err
	}
	if len(s.Spec.Selector) == 0 {
		return errors.New("spec.selector is empty")
	}
	if len(s.Spec.Ports) == 0 {
		return errors.New("spec.ports is empty")
	}
	return nil
}

func checkStatefulSet(s *appsv1.StatefulSet) error {
	if err := checkName(s.Name, validation.IsDNS1123Subdomain); err != nil {
		return err
	}
	if s.Spec.ServiceName == "" {
		return errors.New("spec.serviceName is empty")
	}
	if s.Spec.Selector == nil || len(s.Spec.Selector.MatchLabels) == 0 {
		return errors.New("spec.selector.matchLabels is empty")
	}
	for k, v := range s.Spec.Selector.MatchLabels {
		if s.Spec.Template.Labels[k] != v {
			return fmt.Errorf("spec.selector %s=%s does not match the pod template labels", k, v)
		}
	}
	if len(s.Spec.VolumeClaimTemplates) == 0 {
		return errors.New("spec.volumeClaimTemplates is empty: the data would not survive a restart")
	}
	volumes := map[string]bool{}
	for _, c := range s.Spec.VolumeClaimTemplates {
		if _, ok := c.Spec.Resources.Requests[corev1.ResourceStorage]; !ok {
			return fmt.Errorf("volumeClaimTemplates[%s]: no storage request", c.Name)
		}
		volumes[c.Name] = true
	}
	for _, v := range s.Spec.Template.Spec.Volumes {
		volumes[v.Name] = true
	}
	if len(s.Spec.Template.Spec.Containers) == 0 {
		return errors.New("spec.template.spec.containers is empty")
	}
	for _, c := range s.Spec.Template.Spec.Containers {
		if c.Image == "" {
			return fmt.Errorf("container %s: no image", c.Name)
		}
		if len(c.Resources.Requests) == 0 {
			return fmt.Errorf("container %s: no resource requests", c.Name)
		}
		for _, m := range c.VolumeMounts {
			if !volumes[m.Name] {
				return fmt.Errorf("container %s: volumeMount %s has no volume", c.Name, m.Name)
			}
		}
	}
	return nil
}

func checkIngress(in *networkingv1.Ingress) error {
	if err := checkName(in.Name, validation.IsDNS1123Subdomain); err != nil {
		return err
	}
	if in.Spec.IngressClassName == nil || *in.Spec.IngressClassName == "" {
		return errors.New("spec.ingressClassName is empty")
	}
	if len(in.Spec.Rules) == 0 {
		return errors.New("spec.rules is empty")
	}
	for _, r := range in.Spec.Rules {
		if r.HTTP == nil || len(r.HTTP.Paths) == 0 {
			return errors.New("a rule has no http paths")
		}
		for _, p := range r.HTTP.Paths {
			if !strings.HasPrefix(p.Path, "/") {
				return fmt.Errorf("path %q does not start with /", p.Path)
			}
			if p.PathType == nil {
				return fmt.Errorf("path %q has no pathType", p.Path)
			}
			if p.Backend.Service == nil || p.Backend.Service.Name == "" {
				return fmt.Errorf("path %q has no backend service", p.Path)
			}
			if p.Backend.Service.Port.Number == 0 && p.Backend.Service.Port.Name == "" {
				return fmt.Errorf("path %q has no backend port", p.Path)
			}
		}
	}
	return nil
}

func checkKustomization(k *kustomizetypes.Kustomization) error {
	if len(k.Resources) == 0 {
		return errors.New("resources is empty")
	}
	return nil
}
