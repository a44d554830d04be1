package manifests

import (
	"errors"
	"strings"
	"testing"
)

const goodTrigger = `
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: {name: t, namespace: knshop}
spec:
  broker: default
  filter: {attributes: {type: ORDER_PLACED}}
  subscriber: {ref: {apiVersion: serving.knative.dev/v1, kind: Service, name: reserve-stock}}
`

const goodKafka = `
apiVersion: kafka.strimzi.io/v1beta2
kind: Kafka
metadata:
  name: k
  annotations: {strimzi.io/kraft: enabled, strimzi.io/node-pools: enabled}
spec:
  kafka:
    version: 3.9.0
    listeners: [{name: plain, port: 9092, type: internal, tls: false}]
`

func TestDecode(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		doc     string
		wantErr error  // errors.Is target; nil means success
		wantMsg string // substring of the error, when wantErr is set
	}{
		"valid trigger": {doc: goodTrigger},
		"unknown field fails strict decoding": {
			doc:     strings.Replace(goodTrigger, "broker: default", "broker: default\n  brokr: x", 1),
			wantErr: errAny, wantMsg: `unknown field "brokr"`,
		},
		"trigger without broker is rejected by the Knative validation": {
			doc:     strings.Replace(goodTrigger, "broker: default", "", 1),
			wantErr: ErrInvalid, wantMsg: "spec.broker",
		},
		"filter attribute with upper case name is rejected": {
			doc:     strings.Replace(goodTrigger, "{type: ORDER_PLACED}", "{Type: ORDER_PLACED}", 1),
			wantErr: ErrInvalid, wantMsg: "filter",
		},
		"broker without class annotation is rejected": {
			doc:     "apiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata: {name: b, namespace: knshop}\nspec: {}\n",
			wantErr: ErrInvalid, wantMsg: "broker.class",
		},
		"knative service with max-scale under min-scale is rejected": {
			doc: `
apiVersion: serving.knative.dev/v1
kind: Service
metadata: {name: s, namespace: knshop}
spec:
  template:
    metadata:
      annotations: {autoscaling.knative.dev/min-scale: "3", autoscaling.knative.dev/max-scale: "2"}
    spec:
      containers: [{image: knshop}]
`,
			wantErr: ErrInvalid, wantMsg: "max-scale",
		},
		"ping source with a bad schedule is rejected": {
			doc: `
apiVersion: sources.knative.dev/v1
kind: PingSource
metadata: {name: p, namespace: knshop}
spec:
  schedule: "every minute"
  sink: {ref: {apiVersion: serving.knative.dev/v1, kind: Service, name: relay-outbox}}
`,
			wantErr: ErrInvalid, wantMsg: "schedule",
		},
		"unknown kind": {
			doc:     "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\n",
			wantErr: ErrUnknownKind,
		},
		"valid strimzi kafka": {doc: goodKafka},
		"strimzi kafka without kraft": {
			doc:     strings.Replace(goodKafka, "strimzi.io/kraft: enabled, ", "", 1),
			wantErr: ErrInvalid, wantMsg: "strimzi.io/kraft",
		},
		"strimzi kafka with zookeeper is outside the subset": {
			doc:     goodKafka + "  zookeeper: {replicas: 3}\n",
			wantErr: errAny, wantMsg: "zookeeper",
		},
		"statefulset without volume claim templates": {
			doc: `
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  serviceName: db
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers: [{name: db, image: db, resources: {requests: {cpu: 10m}}}]
`,
			wantErr: ErrInvalid, wantMsg: "volumeClaimTemplates",
		},
		"ingress path without a backend port": {
			doc: `
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: api}
spec:
  ingressClassName: nginx
  rules: [{http: {paths: [{path: /api, pathType: Prefix, backend: {service: {name: auth}}}]}}]
`,
			wantErr: ErrInvalid, wantMsg: "port",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := Decode(t.Context(), []byte(tc.doc))
			switch {
			case tc.wantErr == nil && err != nil:
				t.Fatalf("Decode: %v", err)
			case tc.wantErr == nil:
				return
			case err == nil:
				t.Fatalf("Decode succeeded, want an error containing %q", tc.wantMsg)
			case tc.wantErr != errAny && !errors.Is(err, tc.wantErr):
				t.Fatalf("Decode error %v, want %v", err, tc.wantErr)
			case !strings.Contains(err.Error(), tc.wantMsg):
				t.Fatalf("Decode error %q does not mention %q", err, tc.wantMsg)
			}
		})
	}
}

// errAny marks a case that must fail, whatever the error's identity.
var errAny = errors.New("any error")

func TestDecodeWarnings(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		securityContext string
		wantWarning     bool
	}{
		"no security context warns": {securityContext: "{}", wantWarning: true},
		"locked-down container does not warn": {
			securityContext: "{runAsNonRoot: true, allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}, seccompProfile: {type: RuntimeDefault}}",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			doc := "apiVersion: serving.knative.dev/v1\nkind: Service\nmetadata: {name: s, namespace: knshop}\n" +
				"spec: {template: {spec: {containers: [{image: knshop, securityContext: " + tc.securityContext + "}]}}}\n"
			o, err := Decode(t.Context(), []byte(doc))
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if got := len(o.Warnings) > 0; got != tc.wantWarning {
				t.Fatalf("warnings %q, want some: %v", o.Warnings, tc.wantWarning)
			}
		})
	}
}

func TestDocuments(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		in   string
		want int
	}{
		"leading comment and separator": {in: "# c\n---\na: 1\n", want: 1},
		"two documents":                 {in: "a: 1\n---\nb: 2\n", want: 2},
		"empty documents are dropped":   {in: "---\n---\na: 1\n---\n", want: 1},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			docs, err := Documents([]byte(tc.in))
			if err != nil {
				t.Fatalf("Documents: %v", err)
			}
			if len(docs) != tc.want {
				t.Fatalf("got %d documents, want %d", len(docs), tc.want)
			}
		})
	}
}
