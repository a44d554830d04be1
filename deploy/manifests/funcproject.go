package manifests

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	eventingv1 "knative.dev/eventing/pkg/apis/eventing/v1"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"
)

// ErrNoService is returned by FuncProject for a name no rendered Service has.
var ErrNoService = errors.New("manifests: no Knative Service of that name")

// The autoscaling annotations func.yaml has fields for; the others are
// carried as deploy.annotations.
const (
	annMinScale = "autoscaling.knative.dev/min-scale"
	annMaxScale = "autoscaling.knative.dev/max-scale"
	annMetric   = "autoscaling.knative.dev/metric"
	annTarget   = "autoscaling.knative.dev/target"
)

// FuncProject is what `func deploy` needs to deploy one knshop function
// the way deploy/knative does: a func.yaml named after the function, on
// image, with the Service's environment (Secrets and ConfigMaps as func's
// {{ secret:NAME:KEY }} and {{ configMap:NAME:KEY }} references), labels,
// scale and resources; and the Triggers that deliver to it. func.yaml's
// subscriptions cannot carry a delivery spec (retries, dead-letter sink)
// or the multi-type `filters`, so the Triggers are applied as they are in
// triggers/, not written as subscriptions.
func FuncProject(objs []Object, name, image, created string) (*FuncYAML, []*eventingv1.Trigger, error) {
	var svc *servingv1.Service
	var triggers []*eventingv1.Trigger
	for _, o := range objs {
		switch v := o.Value.(type) {
		case *servingv1.Service:
			if v.Name == name {
				svc = v
			}
		case *eventingv1.Trigger:
			if ref := v.Spec.Subscriber.Ref; ref != nil && ref.Kind == "Service" && ref.Name == name {
				triggers = append(triggers, v)
			}
		}
	}
	if svc == nil {
		return nil, nil, fmt.Errorf("%w: %q", ErrNoService, name)
	}
	spec := svc.Spec.Template.Spec
	if len(spec.Containers) != 1 {
		return nil, nil, fmt.Errorf("manifests: Service %s has %d containers, want 1", name, len(spec.Containers))
	}
	c := spec.Containers[0]
	envs, err := funcEnvs(c.Env)
	if err != nil {
		return nil, nil, fmt.Errorf("manifests: Service %s: %w", name, err)
	}
	ann := maps.Clone(svc.Spec.Template.Annotations)
	scale, err := funcScale(ann)
	if err != nil {
		return nil, nil, fmt.Errorf("manifests: Service %s: %w", name, err)
	}
	f := &FuncYAML{
		SpecVersion: "0.36.0",
		Name:        name,
		Created:     created,
		Runtime:     "go",
		Invoke:      "http",
		Image:       image,
		Namespace:   svc.Namespace,
		Build:       FuncBuild{Builder: "host"},
		Run:         FuncRun{Envs: envs},
		Deploy: FuncDeploy{
			Namespace:   svc.Namespace,
			Image:       image,
			Annotations: ann,
			HealthEndpoints: FuncHealth{
				Liveness:  "/health/liveness",
				Readiness: "/health/readiness",
			},
			Options: FuncOptions{Scale: scale, Resources: funcResources(c.Resources, spec.ContainerConcurrency)},
		},
	}
	for _, k := range slices.Sorted(maps.Keys(svc.Labels)) {
		f.Deploy.Labels = append(f.Deploy.Labels, FuncLabel{Key: k, Value: svc.Labels[k]})
	}
	if err := f.Validate(); err != nil {
		return nil, nil, err
	}
	return f, triggers, nil
}

// funcEnvs turns a container's env into func.yaml's envs.
func funcEnvs(env []corev1.EnvVar) ([]FuncEnv, error) {
	out := make([]FuncEnv, 0, len(env))
	for _, e := range env {
		v := e.Value
		if from := e.ValueFrom; from != nil {
			switch {
			case from.SecretKeyRef != nil:
				v = fmt.Sprintf("{{ secret:%s:%s }}", from.SecretKeyRef.Name, from.SecretKeyRef.Key)
			case from.ConfigMapKeyRef != nil:
				v = fmt.Sprintf("{{ configMap:%s:%s }}", from.ConfigMapKeyRef.Name, from.ConfigMapKeyRef.Key)
			default:
				return nil, fmt.Errorf("env %s: func.yaml can only refer to a Secret or ConfigMap key", e.Name)
			}
		}
		out = append(out, FuncEnv{Name: e.Name, Value: v})
	}
	return out, nil
}

// funcScale moves the autoscaling annotations func.yaml has fields for out
// of ann into deploy.options.scale.
func funcScale(ann map[string]string) (FuncScale, error) {
	var s FuncScale
	for key, dst := range map[string]**int64{annMinScale: &s.Min, annMaxScale: &s.Max} {
		if v, ok := ann[key]; ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return s, fmt.Errorf("annotation %s=%q: %w", key, v, err)
			}
			*dst = &n
			delete(ann, key)
		}
	}
	if v, ok := ann[annTarget]; ok {
		t, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return s, fmt.Errorf("annotation %s=%q: %w", annTarget, v, err)
		}
		s.Target = &t
		delete(ann, annTarget)
	}
	if v, ok := ann[annMetric]; ok {
		s.Metric = v
		delete(ann, annMetric)
	}
	return s, nil
}

// funcResources is the container's requests and limits, with the
// Service's containerConcurrency as limits.concurrency.
func funcResources(r corev1.ResourceRequirements, concurrency *int64) FuncResources {
	q := func(l corev1.ResourceList, n corev1.ResourceName) string {
		if v, ok := l[n]; ok {
			return v.String()
		}
		return ""
	}
	return FuncResources{
		Requests: FuncQuantities{CPU: q(r.Requests, corev1.ResourceCPU), Memory: q(r.Requests, corev1.ResourceMemory)},
		Limits: FuncLimits{
			FuncQuantities: FuncQuantities{CPU: q(r.Limits, corev1.ResourceCPU), Memory: q(r.Limits, corev1.ResourceMemory)},
			Concurrency:    concurrency,
		},
	}
}
