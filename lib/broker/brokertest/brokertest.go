// Package brokertest runs the repo's Knative Broker for a test, on an
// in-process Kafka, and sends events the ways the Broker's clients do: a
// producer publishing to the ingress, the Broker delivering to a
// subscriber.
package brokertest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"path/filepath"
	"testing"

	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	duckv1 "knative.dev/pkg/apis/duck/v1"

	"github.com/knshop/knshop/lib/broker"
	"github.com/knshop/knshop/lib/storetest"
)

// Start runs the Broker of the repository at root (the test's path to it,
// e.g. "../.."): its default Broker and Kafka config, and the named
// Triggers of root/triggers, on a Kafka of one broker. Subscribers and
// dead-letter sinks are Services resolved by name in urls; another name
// fails the Trigger. The Broker is closed when the test ends; serve its
// Handler (the ingress) where the test's producers send.
func Start(t testing.TB, root string, urls map[string]string, triggers ...string) *broker.Server {
	t.Helper()
	files := []string{filepath.Join(root, "brokers", "default.yaml"), filepath.Join(root, "brokers", "kafka-broker-config.yaml")}
	for _, name := range triggers {
		files = append(files, filepath.Join(root, "triggers", name+".yaml"))
	}
	bc, err := broker.LoadFiles(files, broker.WithDefaultNamespace("knshop"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range bc.Brokers {
		bc.Brokers[i].ReplicationFactor = 1 // one in-process Kafka broker
	}
	b, err := broker.New(bc, broker.WithBootstrapServers(storetest.Kafka(t)...),
		broker.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))),
		broker.WithResolver(broker.ResolverFunc(func(ref duckv1.KReference) (*url.URL, error) {
			if u, ok := urls[ref.Name]; ok {
				return url.Parse(u)
			}
			return nil, fmt.Errorf("brokertest: no service %s", ref.Name)
		})))
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Error(err)
		}
	})
	return b
}

// Send posts e to url in binary mode, as the Broker delivers an event to a
// subscriber, and returns the response, its body read and closed. Send may
// run on any goroutine: a failure to send is reported with t.Errorf and
// answers an empty response (status 0).
func Send(t testing.TB, url string, e event.Event) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, nil)
	if err == nil {
		err = cehttp.WriteRequest(context.Background(), binding.ToMessage(&e), req)
	}
	var resp *http.Response
	if err == nil {
		resp, err = http.DefaultClient.Do(req)
	}
	if err == nil {
		_, err = io.Copy(io.Discard, resp.Body)
		if cerr := resp.Body.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		t.Errorf("brokertest: send %s to %s: %v", e.Type(), url, err)
		return &http.Response{Header: http.Header{}}
	}
	return resp
}

// Publish sends e to a Broker ingress at url, as a producer does, and
// fails the test unless the Broker took it (202).
func Publish(t testing.TB, url string, e event.Event) {
	t.Helper()
	if resp := Send(t, url, e); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("the broker ingress answered %d to %s", resp.StatusCode, e.Type())
	}
}
