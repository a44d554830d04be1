package orders_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/knshop/knshop/lib/auth"
	"github.com/knshop/knshop/lib/ids"
	"github.com/knshop/knshop/lib/money"
	"github.com/knshop/knshop/lib/storetest"
)

// BenchmarkPlaceOrder measures POST /api/orders over HTTP against the
// started function: JWT check, pricing from the read model, the order, its
// items, history, idempotency key and ORDER_PLACED outbox row in one
// transaction, then publishing to a recording sink and marking it sent.
// parallelism multiplies GOMAXPROCS: the number of concurrent clients.
func BenchmarkPlaceOrder(b *testing.B) {
	for _, eng := range storetest.MySQLEngines(b) {
		for _, clients := range []int{1, 4} {
			b.Run(fmt.Sprintf("%s/parallelism=%d", eng.Name, clients), func(b *testing.B) {
				e := setup(b, eng)
				mug := e.db.Product(b, "Mug", money.New(1250, "USD"), 1_000_000)
				tea := e.db.Product(b, "Tea", money.New(300, "USD"), 1_000_000)
				payload := body(fmt.Sprintf(`[{"productId":%q,"quantity":2},{"productId":%q,"quantity":1}]`, mug, tea))
				bearer := e.Keys.Bearer(b, ids.New(), auth.Customer)
				client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
				var seq atomic.Int64
				b.SetParallelism(clients)
				b.ResetTimer()
				start := time.Now()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						req, err := http.NewRequest("POST", e.URL+"/api/orders", strings.NewReader(payload))
						if err != nil {
							b.Error(err)
							return
						}
						req.Header.Set("Authorization", bearer)
						req.Header.Set("Content-Type", "application/json")
						req.Header.Set("Idempotency-Key", fmt.Sprint("bench-", seq.Add(1)))
						resp, err := client.Do(req)
						if err != nil {
							b.Error(err)
							return
						}
						if _, err := io.Copy(io.Discard, resp.Body); err != nil {
							b.Error(err)
						}
						resp.Body.Close()
						if resp.StatusCode != http.StatusAccepted {
							b.Errorf("status %d", resp.StatusCode)
							return
						}
					}
				})
				b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "orders/s")
			})
		}
	}
}
