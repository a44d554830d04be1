package manifests

import (
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"go.uber.org/zap"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	eventingduckv1 "knative.dev/eventing/pkg/apis/duck/v1"
	eventingv1 "knative.dev/eventing/pkg/apis/eventing/v1"
	sourcesv1 "knative.dev/eventing/pkg/apis/sources/v1"
	"knative.dev/eventing/pkg/eventfilter"
	"knative.dev/eventing/pkg/eventfilter/attributes"
	"knative.dev/eventing/pkg/eventfilter/subscriptionsapi"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"

	"github.com/knshop/knshop/functions"
	authfn "github.com/knshop/knshop/functions/auth"
	"github.com/knshop/knshop/lib/broker"
	"github.com/knshop/knshop/lib/events"
	"github.com/knshop/knshop/lib/events/eventstest"
	"github.com/knshop/knshop/lib/fn"
)

// The function names are fixed by the design: each one is a Knative Service.
var (
	httpFunctions  = []string{"auth", "users", "products", "cart", "orders", "returns", "reviews", "payments", "deliveries", "admin", "storefront"}
	eventFunctions = []string{
		"create-profile", "sync-customer", "purge-credentials", "cancel-user-orders", "sync-catalog",
		"reserve-stock", "charge-payment", "cancel-order", "confirm-order", "start-delivery",
		"release-stock", "refund-payment", "cancel-delivery", "track-order", "complete-order",
		"dead-letter", "relay-outbox", "reconcile-orders", "timeline",
		"restock-return", "refund-return", "complete-return", "record-purchase", "rate-product",
	}
)

// observers are the Triggers that take every event to watch, not to react:
// the timeline. No filter, retries, and no dead-letter sink (a failure to
// record is dropped from the timeline, never a dead letter).
var observers = map[string]string{"timeline": "timeline"}

// reaction is one row of the reaction table of spec/EVENTS.md.
type reaction struct {
	function string
	types    []events.Type
	// ordered: events of one order must reach the function in order.
	ordered bool
}

// reactions maps each Trigger name to its row of the reaction table.
var reactions = map[string]reaction{
	"create-profile":               {"create-profile", []events.Type{events.UserRegistered}, false},
	"sync-customer":                {"sync-customer", []events.Type{events.UserUpdated}, false},
	"purge-credentials":            {"purge-credentials", []events.Type{events.UserDeleted}, false},
	"cancel-user-orders":           {"cancel-user-orders", []events.Type{events.UserDeleted}, false},
	"sync-catalog":                 {"sync-catalog", []events.Type{events.ProductAdded, events.ProductUpdated, events.ProductDeleted}, false},
	"reserve-stock":                {"reserve-stock", []events.Type{events.OrderPlaced}, true},
	"charge-payment":               {"charge-payment", []events.Type{events.StockReserved}, true},
	"cancel-order-stock-rejected":  {"cancel-order", []events.Type{events.StockRejected}, true},
	"cancel-order-payment-failure": {"cancel-order", []events.Type{events.PaymentFailure}, true},
	"confirm-order":                {"confirm-order", []events.Type{events.PaymentSuccess}, true},
	// Not in EVENTS.md: the RESERVED state needs a reaction (docs/events.md).
	"confirm-order-stock-reserved": {"confirm-order", []events.Type{events.StockReserved}, true},
	"start-delivery":               {"start-delivery", []events.Type{events.PaymentSuccess}, true},
	"release-stock":                {"release-stock", []events.Type{events.OrderCancelled}, true},
	"refund-payment":               {"refund-payment", []events.Type{events.OrderCancelled}, true},
	"cancel-delivery":              {"cancel-delivery", []events.Type{events.OrderCancelled}, true}, // not in EVENTS.md (docs/events.md)
	"track-order":                  {"track-order", []events.Type{events.DeliveryStarted, events.DeliveryCourieredPartner}, true},
	"complete-order":               {"complete-order", []events.Type{events.DeliveryCompleted}, true},
	"restock-return":               {"restock-return", []events.Type{events.ReturnReceived}, true},
	"refund-return":                {"refund-return", []events.Type{events.ReturnReceived}, true},
	"complete-return":              {"complete-return", []events.Type{events.PaymentRefunded}, true},
	"record-purchase":              {"record-purchase", []events.Type{events.OrderCompleted}, false},
	"rate-product":                 {"rate-product", []events.Type{events.ReviewAdded, events.ReviewUpdated, events.ReviewDeleted}, false},
}

// producers is the "produced by" column of the event catalogue: the one
// table the test fixtures build events from.
var producers = eventstest.Producers

// terminal are the types no function reacts to: they end a flow and are
// kept for read models outside knshop (analytics, notifications).
var terminal = []events.Type{events.PaymentAdded, events.ReturnRequested, events.ReturnRejected}

// ingressPaths is the public path → function mapping of spec/API.md.
var ingressPaths = map[string]string{
	"/api/auth":                   "auth",
	"/api/users":                  "users",
	"/api/products":               "products",
	"/api/cart":                   "cart",
	"/api/orders":                 "orders",
	"/api/returns":                "returns",
	"/api/reviews":                "reviews",
	"/api/orders/[^/]+/returns":   "returns",
	"/api/products/[^/]+/reviews": "reviews",
	"/api/payments":               "payments",
	"/api/deliveries":             "deliveries",
	"/api/admin":                  "admin",
	"/api/openapi.json":           "admin",
	"/":                           "storefront",
}

// allFunctionNames is the design's list plus whatever functions.All holds.
func allFunctionNames() []string {
	names := slices.Concat(httpFunctions, eventFunctions)
	for n := range functions.All {
		if !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return names
}

// ofKind returns the built objects of one Go type, by name.
func ofKind[T any](t *testing.T, objs []Object) map[string]*T {
	t.Helper()
	out := map[string]*T{}
	for _, o := range objs {
		if v, ok := o.Value.(*T); ok {
			out[o.Name] = v
		}
	}
	return out
}

func TestEveryFunctionHasAService(t *testing.T) {
	t.Parallel()
	ksvcs := ofKind[servingv1.Service](t, builtObjects(t))
	for _, name := range allFunctionNames() {
		t.Run(name, func(t *testing.T) {
			if _, ok := ksvcs[name]; !ok {
				t.Fatalf("no Knative Service %q in deploy/knative", name)
			}
		})
	}
	for name := range functions.All {
		if !slices.Contains(httpFunctions, name) && !slices.Contains(eventFunctions, name) {
			t.Errorf("functions.All has %q, which the design does not list", name)
		}
	}
}

// secretLike names environment variables that must come from a Secret.
func secretLike(env string) bool {
	for _, word := range strings.Split(env, "_") {
		if slices.Contains([]string{"KEY", "SECRET", "PASSWORD", "DSN", "URI", "TOKEN", "EMAIL"}, word) {
			return true
		}
	}
	return false
}

// exampleSecrets reads the keys of every Secret in secrets.example.yaml.
func exampleSecrets(t *testing.T) map[string]map[string]bool {
	t.Helper()
	objs, err := ReadFile(t.Context(), filepath.Join(root, "deploy/knative/secrets.example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]bool{}
	for name, s := range ofKind[corev1.Secret](t, objs) {
		out[name] = map[string]bool{}
		for k := range s.StringData {
			out[name][k] = true
		}
	}
	return out
}

func TestServices(t *testing.T) {
	t.Parallel()
	secrets := exampleSecrets(t)
	objs := builtObjects(t)
	ksvcs := ofKind[servingv1.Service](t, objs)
	configMaps := ofKind[corev1.ConfigMap](t, objs)
	images := map[string]bool{}
	for name, s := range ksvcs {
		t.Run(name, func(t *testing.T) {
			ann := s.Spec.Template.Annotations
			isEvent := slices.Contains(eventFunctions, name)
			if isEvent && ann["autoscaling.knative.dev/min-scale"] != "0" {
				t.Errorf("event function: min-scale %q, want \"0\"", ann["autoscaling.knative.dev/min-scale"])
			}
			if ann["autoscaling.knative.dev/max-scale"] == "" {
				t.Error("no max-scale")
			}
			if cc := s.Spec.Template.Spec.ContainerConcurrency; cc == nil || *cc < 1 {
				t.Error("containerConcurrency not set")
			}
			if s.Labels["app.kubernetes.io/part-of"] != "knshop" {
				t.Error("missing label app.kubernetes.io/part-of=knshop: the SinkBinding would not give it K_SINK")
			}
			if len(s.Spec.Template.Spec.Containers) != 1 {
				t.Fatalf("%d containers, want 1", len(s.Spec.Template.Spec.Containers))
			}
			c := s.Spec.Template.Spec.Containers[0]
			images[c.Image] = true
			if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
				t.Errorf("resources %v: want cpu and memory requests and a memory limit", c.Resources)
			}
			for probe, want := range map[*corev1.Probe]string{c.ReadinessProbe: "/health/readiness", c.LivenessProbe: "/health/liveness"} {
				if probe == nil || probe.HTTPGet == nil || probe.HTTPGet.Path != want {
					t.Errorf("no HTTP probe on %s", want)
				}
			}
			var function string
			for _, e := range c.Env {
				switch {
				case e.Name == "FUNCTION":
					function = e.Value
				case e.Name == "K_SINK":
					t.Error("K_SINK is set inline; the SinkBinding provides it")
				case secretLike(e.Name) && (e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil):
					t.Errorf("env %s is not read from a Secret", e.Name)
				}
				if e.ValueFrom != nil && e.ValueFrom.ConfigMapKeyRef != nil {
					ref := e.ValueFrom.ConfigMapKeyRef
					if cm := configMaps[ref.Name]; cm == nil {
						t.Errorf("env %s: ConfigMap %s is not deployed", e.Name, ref.Name)
					} else if _, ok := cm.Data[ref.Key]; !ok {
						t.Errorf("env %s: ConfigMap %s has no key %s", e.Name, ref.Name, ref.Key)
					}
				}
				if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
					ref := e.ValueFrom.SecretKeyRef
					if !secrets[ref.Name][ref.Key] {
						t.Errorf("env %s: secret %s key %s is not in secrets.example.yaml", e.Name, ref.Name, ref.Key)
					}
				}
			}
			if function != name {
				t.Errorf("env FUNCTION=%q, want %q", function, name)
			}
		})
	}
	if len(images) != 1 {
		t.Errorf("functions run %d images %v, want one image for all", len(images), slices.Collect(maps.Keys(images)))
	}
}

// accepts reports whether trigger tr lets an event of type typ through,
// using Knative's own filter implementations the way the broker does:
// spec.filters when present, spec.filter.attributes otherwise.
func accepts(ctx context.Context, tr *eventingv1.Trigger, typ events.Type) bool {
	e := cloudevents.NewEvent()
	e.SetID("1")
	e.SetSource("/knshop/test")
	e.SetType(string(typ))
	var f eventfilter.Filter
	switch {
	case len(tr.Spec.Filters) > 0:
		f = subscriptionsapi.CreateSubscriptionsAPIFilters(zap.NewNop(), tr.Spec.Filters)
	case tr.Spec.Filter != nil:
		f = attributes.NewAttributesFilter(tr.Spec.Filter.Attributes)
	default:
		return true
	}
	defer f.Cleanup()
	return f.Filter(ctx, e) != eventfilter.FailFilter
}

func TestTriggersMatchTheReactionTable(t *testing.T) {
	t.Parallel()
	objs := builtObjects(t)
	triggers := ofKind[eventingv1.Trigger](t, objs)
	ksvcs := ofKind[servingv1.Service](t, objs)
	for name, row := range reactions {
		t.Run(name, func(t *testing.T) {
			tr, ok := triggers[name]
			if !ok {
				t.Fatalf("no Trigger %q", name)
			}
			if tr.Spec.Broker != "default" {
				t.Errorf("broker %q, want default", tr.Spec.Broker)
			}
			ref := tr.Spec.Subscriber.Ref
			if ref == nil || ref.Kind != "Service" || ref.APIVersion != "serving.knative.dev/v1" || ref.Name != row.function {
				t.Errorf("subscriber %+v, want Knative Service %s", ref, row.function)
			}
			if _, ok := ksvcs[row.function]; !ok {
				t.Errorf("subscriber %s has no Knative Service", row.function)
			}
			for _, typ := range events.Types() {
				want := slices.Contains(row.types, typ)
				if got := accepts(t.Context(), tr, typ); got != want {
					t.Errorf("filter lets %s through: %v, want %v", typ, got, want)
				}
			}
			ordered := tr.Annotations["kafka.eventing.knative.dev/delivery.order"] == "ordered"
			if ordered != row.ordered {
				t.Errorf("ordered delivery %v, want %v", ordered, row.ordered)
			}
			checkDelivery(t, tr.Spec.Delivery)
		})
	}
	for name, fn := range observers {
		t.Run(name, func(t *testing.T) {
			tr, ok := triggers[name]
			if !ok {
				t.Fatalf("no Trigger %q", name)
			}
			if ref := tr.Spec.Subscriber.Ref; ref == nil || ref.Name != fn {
				t.Errorf("subscriber %+v, want %s", ref, fn)
			}
			for _, typ := range events.Types() {
				if !accepts(t.Context(), tr, typ) {
					t.Errorf("the observer misses %s", typ)
				}
			}
			if d := tr.Spec.Delivery; d == nil || d.Retry == nil || *d.Retry < 1 || d.DeadLetterSink != nil {
				t.Errorf("delivery %+v: want retries and no dead-letter sink", d)
			}
		})
	}
	for name := range triggers {
		_, isObserver := observers[name]
		if _, ok := reactions[name]; !ok && !isObserver {
			t.Errorf("Trigger %q is not a row of the reaction table", name)
		}
		if triggers[name].Spec.Subscriber.Ref != nil && triggers[name].Spec.Subscriber.Ref.Name == "dead-letter" {
			t.Errorf("Trigger %q feeds dead-letter, which only the Broker's dead-letter routing may reach", name)
		}
	}
}

// checkDelivery asserts the delivery every knshop Trigger uses.
func checkDelivery(t *testing.T, d *eventingduckv1.DeliverySpec) {
	t.Helper()
	if d == nil {
		t.Fatal("no delivery")
	}
	if d.Retry == nil || *d.Retry != 5 {
		t.Errorf("retry %v, want 5", d.Retry)
	}
	if d.BackoffPolicy == nil || *d.BackoffPolicy != eventingduckv1.BackoffPolicyExponential {
		t.Errorf("backoffPolicy %v, want exponential", d.BackoffPolicy)
	}
	if d.BackoffDelay == nil || *d.BackoffDelay != "PT0.2S" {
		t.Errorf("backoffDelay %v, want PT0.2S", d.BackoffDelay)
	}
	if d.DeadLetterSink == nil || d.DeadLetterSink.Ref == nil || d.DeadLetterSink.Ref.Name != "dead-letter" || d.DeadLetterSink.Ref.Kind != "Service" {
		t.Errorf("deadLetterSink %+v, want Service dead-letter", d.DeadLetterSink)
	}
}

func TestEveryEventTypeIsProducedAndConsumed(t *testing.T) {
	t.Parallel()
	triggers := ofKind[eventingv1.Trigger](t, builtObjects(t))
	all := slices.Concat(httpFunctions, eventFunctions)
	for _, typ := range events.Types() {
		t.Run(string(typ), func(t *testing.T) {
			p, ok := producers[typ]
			if !ok {
				t.Fatalf("%s has no producer in the EVENTS.md table", typ)
			}
			if !slices.Contains(all, p) {
				t.Errorf("producer %q is not a function", p)
			}
			var consumers []string
			for name, tr := range triggers {
				if _, isObserver := observers[name]; isObserver {
					continue
				}
				if accepts(t.Context(), tr, typ) {
					consumers = append(consumers, name)
				}
			}
			if isTerminal := slices.Contains(terminal, typ); isTerminal != (len(consumers) == 0) {
				t.Errorf("consumed by %v; terminal type: %v", consumers, isTerminal)
			}
		})
	}
	if len(producers) != len(events.Types()) {
		t.Errorf("producer table has %d types, the catalog %d", len(producers), len(events.Types()))
	}
}

// TestLocalRunAndClusterReadTheSameTriggers proves that the Broker and
// Triggers kustomize applies are, field for field, the ones in brokers/ and
// triggers/ that the local broker reads.
func TestLocalRunAndClusterReadTheSameTriggers(t *testing.T) {
	t.Parallel()
	fromBuild := map[string]any{}
	for _, o := range builtObjects(t) {
		if o.Kind == "Trigger" || o.Kind == "Broker" || (o.Kind == "ConfigMap" && o.Name == "kafka-broker-config") {
			fromBuild[o.Kind+"/"+o.Name] = o.Value
		}
	}
	fromFiles := map[string]any{}
	for _, path := range yamlFiles(t, "brokers", "triggers") {
		objs, err := ReadFile(t.Context(), path)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range objs {
			fromFiles[o.Kind+"/"+o.Name] = o.Value
		}
	}
	if !slices.Equal(slices.Sorted(maps.Keys(fromBuild)), slices.Sorted(maps.Keys(fromFiles))) {
		t.Fatalf("build has %v, files have %v", slices.Sorted(maps.Keys(fromBuild)), slices.Sorted(maps.Keys(fromFiles)))
	}
	for k, want := range fromFiles {
		t.Run(k, func(t *testing.T) {
			if got := fromBuild[k]; !reflect.DeepEqual(got, want) {
				t.Errorf("kustomize changed it:\n build: %+v\n files: %+v", got, want)
			}
		})
	}
}

func TestBrokerPointsAtTheStrimziCluster(t *testing.T) {
	t.Parallel()
	objs := builtObjects(t)
	b := ofKind[eventingv1.Broker](t, objs)["default"]
	if b == nil {
		t.Fatal("no Broker default")
	}
	if c := b.Annotations[eventingv1.BrokerClassAnnotationKey]; c != "Kafka" {
		t.Errorf("broker class %q, want Kafka", c)
	}
	checkDelivery(t, b.Spec.Delivery)
	if b.Spec.Config == nil || b.Spec.Config.Kind != "ConfigMap" {
		t.Fatalf("broker config %+v, want a ConfigMap", b.Spec.Config)
	}
	cm := ofKind[corev1.ConfigMap](t, objs)[b.Spec.Config.Name]
	if cm == nil {
		t.Fatalf("ConfigMap %s not deployed", b.Spec.Config.Name)
	}
	for _, k := range []string{"default.topic.partitions", "default.topic.replication.factor", "bootstrap.servers"} {
		if cm.Data[k] == "" {
			t.Errorf("%s: no %s", cm.Name, k)
		}
	}
	var kafka *StrimziKafka
	for _, k := range ofKind[StrimziKafka](t, objs) {
		kafka = k
	}
	if kafka == nil {
		t.Fatal("no Strimzi Kafka")
	}
	var pool *StrimziNodePool
	for _, p := range ofKind[StrimziNodePool](t, objs) {
		pool = p
	}
	if pool == nil || pool.Labels["strimzi.io/cluster"] != kafka.Name {
		t.Fatalf("no KafkaNodePool for cluster %s", kafka.Name)
	}
	if !slices.Contains(pool.Spec.Roles, "controller") || !slices.Contains(pool.Spec.Roles, "broker") {
		t.Errorf("node pool roles %v: KRaft needs controllers and brokers", pool.Spec.Roles)
	}
	l := kafka.Spec.Kafka.Listeners[0]
	want := fmt.Sprintf("%s-kafka-bootstrap.%s.svc.cluster.local:%d", kafka.Name, kafka.Namespace, l.Port)
	if got := cm.Data["bootstrap.servers"]; got != want {
		t.Errorf("bootstrap.servers %q, want the Strimzi bootstrap Service %q", got, want)
	}
	var rf int32
	if _, err := fmt.Sscan(cm.Data["default.topic.replication.factor"], &rf); err != nil || rf > pool.Spec.Replicas {
		t.Errorf("replication factor %q with %d Kafka nodes", cm.Data["default.topic.replication.factor"], pool.Spec.Replicas)
	}
}

func TestSourcesAndBindings(t *testing.T) {
	t.Parallel()
	objs := builtObjects(t)
	ksvcs := ofKind[servingv1.Service](t, objs)

	pings := ofKind[sourcesv1.PingSource](t, objs)
	timers := []string{"reconcile-orders", "relay-outbox"}
	if len(pings) != len(timers) {
		t.Fatalf("%d PingSources, want %d", len(pings), len(timers))
	}
	for _, name := range timers {
		p, ok := pings[name]
		if !ok {
			t.Errorf("no PingSource %s", name)
			continue
		}
		if p.Spec.Schedule != "* * * * *" {
			t.Errorf("PingSource schedule %q, want every minute", p.Spec.Schedule)
		}
		if ref := p.Spec.Sink.Ref; ref == nil || ref.Kind != "Service" || ref.Name != name {
			t.Errorf("PingSource sink %+v, want Service %s", ref, name)
		}
		if _, ok := ksvcs[name]; !ok {
			t.Errorf("PingSource %s wakes no Service", name)
		}
	}

	bindings := ofKind[sourcesv1.SinkBinding](t, objs)
	if len(bindings) != 1 {
		t.Fatalf("%d SinkBindings, want 1", len(bindings))
	}
	for _, b := range bindings {
		if ref := b.Spec.Sink.Ref; ref == nil || ref.Kind != "Broker" || ref.Name != "default" {
			t.Errorf("SinkBinding sink %+v, want Broker default", ref)
		}
		subj := b.Spec.Subject
		if subj.Kind != "Service" || subj.APIVersion != "serving.knative.dev/v1" || subj.Selector == nil {
			t.Fatalf("SinkBinding subject %+v, want Knative Services by label", subj)
		}
		for name, s := range ksvcs {
			for k, v := range subj.Selector.MatchLabels {
				if s.Labels[k] != v {
					t.Errorf("SinkBinding does not select %s (label %s=%s)", name, k, v)
				}
			}
		}
	}
}

func TestIngressMapsTheAPIPaths(t *testing.T) {
	t.Parallel()
	objs := builtObjects(t)
	ksvcs := ofKind[servingv1.Service](t, objs)
	got := map[string]string{}
	for _, in := range ofKind[networkingv1.Ingress](t, objs) {
		for _, r := range in.Spec.Rules {
			for _, p := range r.HTTP.Paths {
				fn := p.Backend.Service.Name
				got[p.Path] = fn
				if _, ok := ksvcs[fn]; !ok {
					t.Errorf("path %s goes to %s, which is not a Knative Service", p.Path, fn)
				}
				if host := in.Annotations["nginx.ingress.kubernetes.io/upstream-vhost"]; host != fn+".knshop.svc.cluster.local" {
					t.Errorf("path %s: upstream host %q, want the ksvc's cluster-local name", p.Path, host)
				}
			}
		}
	}
	if !maps.Equal(got, ingressPaths) {
		t.Errorf("ingress paths %v, want %v", got, ingressPaths)
	}
	// The local gateway routes by functions.Areas: the cluster must agree.
	local := map[string]string{}
	for area, fn := range functions.Areas {
		local["/api/"+area] = fn
	}
	for _, n := range functions.NestedRoutes {
		local[n.IngressPath()] = n.Function
	}
	local["/"] = functions.Root
	if !maps.Equal(got, local) {
		t.Errorf("ingress paths %v, local gateway areas %v", got, local)
	}
}

// TestLocalBrokerLoadsWhatKustomizeApplies loads brokers/ and triggers/
// with the local broker's own loader and compares its Triggers with the
// ones the cluster gets.
func TestLocalBrokerLoadsWhatKustomizeApplies(t *testing.T) {
	t.Parallel()
	cfg, err := broker.LoadDir(root, broker.WithDefaultNamespace("knshop"))
	if err != nil {
		t.Fatalf("local broker: %v", err)
	}
	cluster := ofKind[eventingv1.Trigger](t, builtObjects(t))
	if len(cfg.Triggers) != len(cluster) {
		t.Fatalf("local broker loads %d Triggers, the cluster gets %d", len(cfg.Triggers), len(cluster))
	}
	for _, local := range cfg.Triggers {
		t.Run(local.Name, func(t *testing.T) {
			c, ok := cluster[local.Name]
			if !ok {
				t.Fatal("not in the kustomize build")
			}
			if !reflect.DeepEqual(local.Spec, c.Spec) || !maps.Equal(local.Annotations, c.Annotations) {
				t.Errorf("local and cluster differ:\n local:   %+v\n cluster: %+v", local.Spec, c.Spec)
			}
		})
	}
	cm := ofKind[corev1.ConfigMap](t, builtObjects(t))["kafka-broker-config"]
	if cm == nil {
		t.Fatal("no kafka-broker-config in the build")
	}
	want := cm.Data["default.topic.partitions"]
	if len(cfg.Brokers) != 1 || cfg.Brokers[0].Broker.Name != "default" || fmt.Sprint(cfg.Brokers[0].Partitions) != want {
		t.Errorf("local broker config %+v, want Broker default with the %s partitions of kafka-broker-config", cfg.Brokers, want)
	}
}

// TestSecretsTemplateMatchesTheirUse proves the Secrets template and the
// workloads agree: every secret reference of a function or database has its
// key in secrets.example.yaml, and every key there is read by something.
func TestSecretsTemplateMatchesTheirUse(t *testing.T) {
	t.Parallel()
	secrets := exampleSecrets(t)
	objs := builtObjects(t)
	var containers []corev1.Container
	for _, s := range ofKind[servingv1.Service](t, objs) {
		containers = append(containers, s.Spec.Template.Spec.Containers...)
	}
	for _, s := range ofKind[appsv1.StatefulSet](t, objs) {
		containers = append(containers, s.Spec.Template.Spec.Containers...)
	}
	used := map[string]bool{}
	for _, c := range containers {
		for _, e := range c.Env {
			if e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
				continue
			}
			ref := e.ValueFrom.SecretKeyRef
			used[ref.Name+"/"+ref.Key] = true
			if !secrets[ref.Name][ref.Key] {
				t.Errorf("container %s env %s reads %s/%s, which secrets.example.yaml lacks", c.Name, e.Name, ref.Name, ref.Key)
			}
		}
	}
	for name, keys := range secrets {
		for k := range keys {
			if !used[name+"/"+k] {
				t.Errorf("secrets.example.yaml has %s/%s, which nothing reads", name, k)
			}
		}
	}
}

// TestAuthMemoryCoversConcurrentHashes: every request Knative lets into an
// auth instance may hash a password with Argon2id at the function's memory
// cost; the container's memory limit must hold all of them plus a base.
func TestAuthMemoryCoversConcurrentHashes(t *testing.T) {
	t.Parallel()
	s := ofKind[servingv1.Service](t, builtObjects(t))["auth"]
	if s == nil {
		t.Fatal("no auth Service")
	}
	cc := s.Spec.Template.Spec.ContainerConcurrency
	if cc == nil || *cc == 0 {
		t.Fatal("auth has unbounded containerConcurrency")
	}
	const base = 64 << 20 // runtime, driver pools, buffers
	need := *cc*int64(authfn.DefaultArgon2.MemoryKiB)<<10 + base
	limit := s.Spec.Template.Spec.Containers[0].Resources.Limits.Memory().Value()
	if limit < need {
		t.Errorf("auth memory limit %d MiB, %d concurrent Argon2id hashes need %d MiB", limit>>20, *cc, need>>20)
	}
}

// TestFunctionKindsMatchTheirWiring: what a Trigger, the PingSource or the
// dead-letter route calls is an event function, and what the Ingress calls
// is an HTTP function, both in the design's lists and, for the functions
// already registered, in the code itself.
func TestFunctionKindsMatchTheirWiring(t *testing.T) {
	t.Parallel()
	ksvcs := ofKind[servingv1.Service](t, builtObjects(t))
	for name, s := range ksvcs {
		t.Run(name, func(t *testing.T) {
			wantEvent := slices.Contains(eventFunctions, name)
			if kind := s.Labels["knshop.dev/kind"]; kind != map[bool]string{true: "event", false: "http"}[wantEvent] {
				t.Errorf("label knshop.dev/kind=%q", kind)
			}
			ctor, ok := functions.All[name]
			if !ok {
				t.Skip("not registered yet")
			}
			switch f := ctor().(type) {
			case fn.EventFunction:
				if !wantEvent {
					t.Errorf("%T is an event function; the Ingress sends it plain HTTP", f)
				}
			case fn.HTTPFunction:
				if wantEvent {
					t.Errorf("%T is an HTTP function; the Broker sends it CloudEvents", f)
				}
			default:
				t.Errorf("%T is neither an HTTP nor an event function", f)
			}
		})
	}
}

// TestServicesAreScraped: every function's pods carry the annotations a
// Prometheus pod scrape reads, pointing at the runtime's /metrics.
func TestServicesAreScraped(t *testing.T) {
	t.Parallel()
	for name, svc := range ofKind[servingv1.Service](t, builtObjects(t)) {
		ann := svc.Spec.Template.Annotations
		if ann["prometheus.io/scrape"] != "true" || ann["prometheus.io/port"] != "8080" || ann["prometheus.io/path"] != fn.MetricsPath {
			t.Errorf("Service %s: scrape annotations %q %q %q", name, ann["prometheus.io/scrape"], ann["prometheus.io/port"], ann["prometheus.io/path"])
		}
	}
}
