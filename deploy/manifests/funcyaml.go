package manifests

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"
)

// ErrFuncYAML is returned for a func.yaml the func CLI would refuse.
var ErrFuncYAML = errors.New("manifests: invalid func.yaml")

// FuncYAML is the func CLI's project file, func.yaml, as far as knshop
// uses it. Its fields and rules follow the func CLI's published schema;
// decoding is strict, so a key the CLI does not know fails.
type FuncYAML struct {
	SpecVersion string     `json:"specVersion"`
	Name        string     `json:"name"`
	Created     string     `json:"created"`
	Domain      string     `json:"domain,omitempty"`
	Runtime     string     `json:"runtime"`
	Registry    string     `json:"registry,omitempty"`
	Image       string     `json:"image,omitempty"`
	Namespace   string     `json:"namespace,omitempty"`
	Invoke      string     `json:"invoke,omitempty"`
	Build       FuncBuild  `json:"build,omitempty"`
	Run         FuncRun    `json:"run,omitempty"`
	Deploy      FuncDeploy `json:"deploy,omitempty"`
}

// FuncEnv is one environment variable in func.yaml.
type FuncEnv struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// FuncBuild is func.yaml's build section.
type FuncBuild struct {
	Builder       string            `json:"builder,omitempty"`
	BuilderImages map[string]string `json:"builderImages,omitempty"`
	Buildpacks    []string          `json:"buildpacks,omitempty"`
	BuildEnvs     []FuncEnv         `json:"buildEnvs,omitempty"`
}

// FuncRun is func.yaml's run section.
type FuncRun struct {
	Envs         []FuncEnv `json:"envs,omitempty"`
	StartTimeout int       `json:"startTimeout,omitempty"`
}

// FuncDeploy is func.yaml's deploy section.
type FuncDeploy struct {
	Namespace          string            `json:"namespace,omitempty"`
	Image              string            `json:"image,omitempty"`
	Annotations        map[string]string `json:"annotations,omitempty"`
	Labels             []FuncLabel       `json:"labels,omitempty"`
	ServiceAccountName string            `json:"serviceAccountName,omitempty"`
	HealthEndpoints    FuncHealth        `json:"healthEndpoints,omitempty"`
	Options            FuncOptions       `json:"options,omitempty"`
}

// FuncLabel is one label func deploy puts on the Service.
type FuncLabel struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// FuncHealth are the health routes func deploy probes.
type FuncHealth struct {
	Liveness  string `json:"liveness,omitempty"`
	Readiness string `json:"readiness,omitempty"`
}

// FuncOptions are the Knative Service options func deploy sets.
type FuncOptions struct {
	Scale     FuncScale     `json:"scale,omitempty"`
	Resources FuncResources `json:"resources,omitempty"`
}

// FuncScale is the autoscaling of the deployed function.
type FuncScale struct {
	Min         *int64   `json:"min,omitempty"`
	Max         *int64   `json:"max,omitempty"`
	Metric      string   `json:"metric,omitempty"`
	Target      *float64 `json:"target,omitempty"`
	Utilization *float64 `json:"utilization,omitempty"`
}

// FuncResources are the container's requests and limits.
type FuncResources struct {
	Requests FuncQuantities `json:"requests,omitempty"`
	Limits   FuncLimits     `json:"limits,omitempty"`
}

// FuncQuantities are cpu and memory quantities.
type FuncQuantities struct {
	CPU    string `json:"cpu,omitempty"`
	Memory string `json:"memory,omitempty"`
}

// FuncLimits are the limits, including the per-instance concurrency.
type FuncLimits struct {
	FuncQuantities `json:",inline"`
	Concurrency    *int64 `json:"concurrency,omitempty"`
}

// The values the func CLI accepts.
var (
	funcRuntimes = []string{"go", "node", "python", "quarkus", "rust", "springboot", "typescript"}
	funcInvokes  = []string{"", "http", "cloudevent"}
	funcBuilders = []string{"", "pack", "s2i", "host"}
	funcMetrics  = []string{"", "concurrency", "rps"}
	funcEnvName  = regexp.MustCompile(`^[-._a-zA-Z][-._a-zA-Z0-9]*$`)
)

// ReadFuncYAML decodes the func.yaml at path strictly and validates it.
func ReadFuncYAML(path string) (*FuncYAML, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("manifests: read func.yaml: %w", err)
	}
	return ParseFuncYAML(data)
}

// ParseFuncYAML decodes a func.yaml strictly and validates it.
func ParseFuncYAML(data []byte) (*FuncYAML, error) {
	var f FuncYAML
	if err := yaml.UnmarshalStrict(data, &f); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrFuncYAML, err)
	}
	if err := f.Validate(); err != nil {
		return nil, err
	}
	return &f, nil
}

// Validate applies the func CLI's rules.
func (f *FuncYAML) Validate() error {
	var errs []string
	bad := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	if f.SpecVersion == "" {
		bad("specVersion is required")
	}
	if msgs := validation.IsDNS1123Label(f.Name); len(msgs) > 0 {
		bad("name %q: %s", f.Name, strings.Join(msgs, "; "))
	}
	if _, err := time.Parse(time.RFC3339, f.Created); err != nil {
		bad("created %q is not an RFC 3339 time", f.Created)
	}
	if !slices.Contains(funcRuntimes, f.Runtime) {
		bad("runtime %q is not one of %v", f.Runtime, funcRuntimes)
	}
	if !slices.Contains(funcInvokes, f.Invoke) {
		bad("invoke %q is not http or cloudevent", f.Invoke)
	}
	if !slices.Contains(funcBuilders, f.Build.Builder) {
		bad("build.builder %q is not pack, s2i or host", f.Build.Builder)
	}
	for _, e := range slices.Concat(f.Build.BuildEnvs, f.Run.Envs) {
		if !funcEnvName.MatchString(e.Name) {
			bad("env name %q", e.Name)
		}
	}
	for _, p := range []string{f.Deploy.HealthEndpoints.Liveness, f.Deploy.HealthEndpoints.Readiness} {
		if p != "" && !strings.HasPrefix(p, "/") {
			bad("health endpoint %q is not a path", p)
		}
	}
	s := f.Deploy.Options.Scale
	if s.Min != nil && *s.Min < 0 || s.Max != nil && *s.Max < 0 {
		bad("scale min and max must not be negative")
	}
	if s.Min != nil && s.Max != nil && *s.Max > 0 && *s.Min > *s.Max {
		bad("scale min %d is above max %d", *s.Min, *s.Max)
	}
	if !slices.Contains(funcMetrics, s.Metric) {
		bad("scale metric %q is not concurrency or rps", s.Metric)
	}
	if s.Target != nil && *s.Target < 0.01 {
		bad("scale target %v is under 0.01", *s.Target)
	}
	if s.Utilization != nil && (*s.Utilization < 1 || *s.Utilization > 100) {
		bad("scale utilization %v is outside 1..100", *s.Utilization)
	}
	r := f.Deploy.Options.Resources
	for _, q := range []string{r.Requests.CPU, r.Requests.Memory, r.Limits.CPU, r.Limits.Memory} {
		if q == "" {
			continue
		}
		if _, err := resource.ParseQuantity(q); err != nil {
			bad("resource quantity %q: %v", q, err)
		}
	}
	if c := r.Limits.Concurrency; c != nil && *c < 0 {
		bad("limits.concurrency %d is negative", *c)
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %s", ErrFuncYAML, strings.Join(errs, "; "))
	}
	return nil
}
