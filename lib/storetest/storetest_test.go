package storetest_test

import (
	"bytes"
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/knshop/knshop/lib/sqlstore"
	"github.com/knshop/knshop/lib/storetest"
	"github.com/twmb/franz-go/pkg/kgo"
)

func TestEventRecorder(t *testing.T) {
	binary := func(url string) (*http.Request, error) {
		req, err := http.NewRequest(http.MethodPost, url, bytes.NewBufferString(`{"orderId":"o1"}`))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Ce-Specversion", "1.0")
		req.Header.Set("Ce-Id", "e1")
		req.Header.Set("Ce-Type", "ORDER_PLACED")
		req.Header.Set("Ce-Source", "/knshop/orders")
		req.Header.Set("Content-Type", "application/json")
		return req, nil
	}
	structured := func(url string) (*http.Request, error) {
		req, err := http.NewRequest(http.MethodPost, url, bytes.NewBufferString(
			`{"specversion":"1.0","id":"e1","type":"ORDER_PLACED","source":"/knshop/orders","datacontenttype":"application/json","data":{"orderId":"o1"}}`))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "application/cloudevents+json")
		return req, nil
	}
	notAnEvent := func(url string) (*http.Request, error) {
		return http.NewRequest(http.MethodPost, url, bytes.NewBufferString(`{"hello":1}`))
	}
	tests := map[string]struct {
		build      func(url string) (*http.Request, error)
		failWith   int
		wantStatus int
		wantEvents int
	}{
		"binary mode":      {build: binary, wantStatus: http.StatusAccepted, wantEvents: 1},
		"structured mode":  {build: structured, wantStatus: http.StatusAccepted, wantEvents: 1},
		"not an event":     {build: notAnEvent, wantStatus: http.StatusBadRequest},
		"told to fail 503": {build: binary, failWith: http.StatusServiceUnavailable, wantStatus: http.StatusServiceUnavailable},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			rec := storetest.NewEventRecorder(t)
			rec.FailWith(tc.failWith)
			req, err := tc.build(rec.URL())
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			if err := resp.Body.Close(); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.wantStatus)
			}
			got := rec.Events()
			if len(got) != tc.wantEvents {
				t.Fatalf("%d events recorded, want %d", len(got), tc.wantEvents)
			}
			if tc.wantEvents > 0 {
				checkEvent(t, got[0])
			}
		})
	}
}

func checkEvent(t *testing.T, e event.Event) {
	t.Helper()
	var data struct{ OrderID string }
	if err := e.DataAs(&data); err != nil {
		t.Fatal(err)
	}
	if e.ID() != "e1" || e.Type() != "ORDER_PLACED" || data.OrderID != "o1" {
		t.Fatalf("recorded %s %s %+v", e.ID(), e.Type(), data)
	}
}

func TestEventRecorderWaitFor(t *testing.T) {
	rec := storetest.NewEventRecorder(t)
	errc := make(chan error, 1)
	go func() {
		time.Sleep(50 * time.Millisecond)
		req, err := http.NewRequest(http.MethodPost, rec.URL(), bytes.NewBufferString(`{}`))
		if err != nil {
			errc <- err
			return
		}
		req.Header.Set("Ce-Specversion", "1.0")
		req.Header.Set("Ce-Id", "late")
		req.Header.Set("Ce-Type", "T")
		req.Header.Set("Ce-Source", "/s")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			errc <- err
			return
		}
		errc <- resp.Body.Close()
	}()
	got := rec.WaitFor(t, 1, 5*time.Second)
	if got[0].ID() != "late" {
		t.Fatalf("got %s", got[0].ID())
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

func TestKafkaRoundTrip(t *testing.T) {
	ctx := t.Context()
	addrs := storetest.Kafka(t)
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.ConsumeTopics("roundtrip"), kgo.AllowAutoTopicCreation())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "roundtrip", Key: []byte("k"), Value: []byte("v")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	pollCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	fetches := cl.PollFetches(pollCtx)
	if err := fetches.Err(); err != nil {
		t.Fatal(err)
	}
	recs := fetches.Records()
	if len(recs) != 1 || string(recs[0].Value) != "v" {
		t.Fatalf("consumed %d records", len(recs))
	}
}

func TestMySQLDatabasesAreFreshAndDropped(t *testing.T) {
	var names []string
	var cfgs []sqlstore.Config
	t.Run("use", func(t *testing.T) {
		for range 2 {
			c := storetest.MySQL(t, "fresh")
			db, err := sqlstore.Open(t.Context(), c, []string{"CREATE TABLE IF NOT EXISTS x (id INT PRIMARY KEY)"})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := db.ExecContext(t.Context(), "INSERT INTO x VALUES (1)"); err != nil {
				t.Fatalf("a fresh database already had the row: %v", err)
			}
			if !c.Serialize {
				if err := db.Close(); err != nil {
					t.Fatal(err)
				}
			}
			names = append(names, c.Database)
			cfgs = append(cfgs, c)
		}
	})
	if names[0] == names[1] {
		t.Fatalf("two calls gave the same database %s", names[0])
	}
	probe := storetest.MySQL(t, "probe")
	db, err := sqlstore.Open(t.Context(), probe, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cfgs {
		var n int
		if err := db.QueryRowContext(t.Context(),
			"SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = ?", c.Database).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("database %s still exists after its test", c.Database)
		}
	}
	if !probe.Serialize {
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
