package admin_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/knshop/knshop/functions/admin"
	deadletterfn "github.com/knshop/knshop/functions/dead-letter"
	startdelivery "github.com/knshop/knshop/functions/start-delivery"
	"github.com/knshop/knshop/lib/auth"
	"github.com/knshop/knshop/lib/auth/authtest"
	"github.com/knshop/knshop/lib/broker/brokertest"
	"github.com/knshop/knshop/lib/deadletter"
	"github.com/knshop/knshop/lib/deliverystore"
	"github.com/knshop/knshop/lib/deliverystore/deliverystoretest"
	"github.com/knshop/knshop/lib/ids"
	"github.com/knshop/knshop/lib/sqlstore"
	"github.com/knshop/knshop/lib/storetest"
)

// serve starts f with cfg behind a test server.
func serve(t *testing.T, name string, f any, cfg map[string]string, wrap func(http.Handler) http.Handler) *httptest.Server {
	t.Helper()
	var h http.Handler = storetest.Instance(t, name, f, cfg, storetest.Discard)
	if wrap != nil {
		h = wrap(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// TestFailingSubscriberIsDeadLetteredAndReplayCompletes runs the repo's
// Broker and start-delivery Trigger on embedded Kafka. start-delivery fails
// every delivery, so after its retries the event lands in the dead-letter
// store; once it is fixed, the admin replay brings the event back through
// the Broker and the delivery is created.
func TestFailingSubscriberIsDeadLetteredAndReplayCompletes(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the Trigger's retries")
	}
	ctx := t.Context()
	// The functions name their databases themselves; the embedded engine of
	// this test binary is theirs alone.
	mysqlCfg := storetest.EmbeddedMySQL(t, "unused")
	keys := authtest.New(t)
	brokerLn := httptest.NewUnstartedServer(nil)
	brokerURL := "http://" + brokerLn.Listener.Addr().String() + "/knshop/default"
	cfg := map[string]string{"MYSQL_DSN": mysqlCfg.DSN, "KNSHOP_SERIALIZE_DB": "true", "K_SINK": brokerURL}
	for k, v := range keys.Env {
		cfg[k] = v
	}

	var broken atomic.Bool
	broken.Store(true)
	var failures atomic.Int32
	flaky := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if broken.Load() {
				failures.Add(1)
				http.Error(w, "database unavailable", http.StatusInternalServerError)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
	sdSrv := serve(t, "start-delivery", startdelivery.New(), cfg, flaky)
	dlSrv := serve(t, "dead-letter", deadletterfn.New(), cfg, nil)
	adminSrv := serve(t, "admin", admin.New(), cfg, nil)

	urls := map[string]string{"start-delivery": sdSrv.URL, "dead-letter": dlSrv.URL}
	b := brokertest.Start(t, "../..", urls, "start-delivery")
	brokerLn.Config.Handler = b.Handler()
	brokerLn.Start()
	defer brokerLn.Close()

	order := ids.New()
	paid := deliverystoretest.Paid(t, order, &deliverystoretest.Address)
	brokertest.Publish(t, brokerURL, paid)

	letters, err := deadletter.Open(ctx, sqlstore.Config{DSN: mysqlCfg.DSN, Database: deadletter.Database, Serialize: true})
	if err != nil {
		t.Fatal(err)
	}
	var letter deadletter.Letter
	waitFor(t, 30*time.Second, "the event to be dead-lettered", func() bool {
		ls, _, err := letters.List(ctx, 0, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(ls) == 1 {
			letter = ls[0]
		}
		return len(ls) == 1
	})
	if letter.Event.ID() != paid.ID() || letter.ErrorCode != 500 || !strings.Contains(letter.ErrorData, "database unavailable") ||
		!strings.HasPrefix(letter.ErrorDest, sdSrv.URL) {
		t.Fatalf("letter = %+v", letter)
	}
	if n := failures.Load(); n != 6 {
		t.Fatalf("start-delivery saw %d attempts, want 1 + 5 retries", n)
	}

	broken.Store(false) // the fix is deployed
	replay, err := http.NewRequestWithContext(ctx, http.MethodPost, adminSrv.URL+"/api/admin/dead-letters/"+letter.ID+"/replay", nil)
	if err != nil {
		t.Fatal(err)
	}
	replay.Header.Set("Authorization", keys.Bearer(t, "admin-1", auth.Admin))
	resp, err := http.DefaultClient.Do(replay)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("replay answered %d", resp.StatusCode)
	}
	deliveries := deliverystoretest.Open(t, sqlstore.Config{DSN: mysqlCfg.DSN, Database: deliverystore.Database, Serialize: true})
	waitFor(t, 15*time.Second, "the replayed event to create the delivery", func() bool {
		_, err := deliveries.ByOrder(ctx, order)
		return err == nil
	})
	if got, err := letters.Get(ctx, letter.ID); err != nil || got.ReplayedAt == nil {
		t.Fatalf("letter after replay = %+v, %v", got, err)
	}
}

func waitFor(t *testing.T, timeout time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
