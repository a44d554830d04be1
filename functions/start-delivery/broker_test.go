package startdelivery_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	startdelivery "github.com/knshop/knshop/functions/start-delivery"
	"github.com/knshop/knshop/lib/broker/brokertest"
	"github.com/knshop/knshop/lib/deliverystore/deliverystoretest"
	"github.com/knshop/knshop/lib/fn"
	"github.com/knshop/knshop/lib/ids"
	"github.com/knshop/knshop/lib/storetest"
)

// TestSubscriberDownEventsWaitInOrder runs the repo's Broker and the
// start-delivery Trigger (ordered delivery) on embedded Kafka while
// start-delivery is not listening (connection refused). The events wait in
// the Broker's retries; once it listens they arrive, each order's events in
// the order they were published, and nothing is dead-lettered.
func TestSubscriberDownEventsWaitInOrder(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the Trigger's retries")
	}
	ctx := t.Context()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	mysqlCfg := storetest.EmbeddedMySQL(t, "unused")
	deadLetters := storetest.NewEventRecorder(t)

	// Reserve an address and leave it closed: deliveries are refused.
	addr := storetest.FreeAddr(t)

	urls := map[string]string{"start-delivery": "http://" + addr, "dead-letter": deadLetters.URL()}
	b := brokertest.Start(t, "../..", urls, "start-delivery")
	ingress := httptest.NewServer(b.Handler())
	defer ingress.Close()

	// Two orders, three PAYMENT_SUCCESS each (a payment retried upstream),
	// published interleaved.
	orders := []string{ids.New(), ids.New()}
	published := map[string][]string{}
	for range 3 {
		for _, order := range orders {
			e := deliverystoretest.Paid(t, order, &deliverystoretest.Address)
			brokertest.Publish(t, ingress.URL+"/knshop/default", e)
			published[order] = append(published[order], e.ID())
		}
	}

	time.Sleep(1500 * time.Millisecond) // down for a while: several refused attempts

	f := startdelivery.New()
	inst, err := fn.NewInstance("start-delivery", f, quiet)
	if err != nil {
		t.Fatal(err)
	}
	if err := inst.Start(ctx, map[string]string{"MYSQL_DSN": mysqlCfg.DSN, "KNSHOP_SERIALIZE_DB": "true"}); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	arrived := map[string][]string{}
	seen := map[string]bool{}
	record := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		id, order := r.Header.Get("Ce-Id"), r.Header.Get("Ce-Partitionkey")
		if !seen[id] {
			seen[id] = true
			arrived[order] = append(arrived[order], id)
		}
		mu.Unlock()
		inst.ServeHTTP(w, r)
	})
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen again on %s: %v", addr, err)
	}
	srv := &http.Server{Handler: record, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && err != http.ErrServerClosed {
			t.Error(err)
		}
	}()
	t.Cleanup(func() {
		if err := srv.Shutdown(context.Background()); err != nil {
			t.Error(err)
		}
		if err := inst.Stop(context.Background()); err != nil {
			t.Error(err)
		}
	})

	deadline := time.Now().Add(20 * time.Second)
	for {
		mu.Lock()
		n := len(seen)
		mu.Unlock()
		if n == 6 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of 6 events arrived after the subscriber came back", n)
		}
		time.Sleep(50 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, order := range orders {
		if fmt.Sprint(arrived[order]) != fmt.Sprint(published[order]) {
			t.Fatalf("order %s: arrival %v, published %v", order, arrived[order], published[order])
		}
	}
	if n := len(deadLetters.Events()); n != 0 {
		t.Fatalf("%d events were dead-lettered", n)
	}
}
