package sqlstore_test

import (
	"testing"

	"github.com/knshop/knshop/lib/sqlstore"
	"github.com/knshop/knshop/lib/storetest"
)

// BenchmarkInTxIncrement measures one read-modify-write transaction, the
// shape of most handlers, from parallel goroutines.
func BenchmarkInTxIncrement(b *testing.B) {
	storetest.OnEachMySQL(b, func(b *testing.B, e storetest.Engine) {
		ctx := b.Context()
		c := e.Config(b, "bench")
		db, err := sqlstore.Open(ctx, c, []string{
			"CREATE TABLE IF NOT EXISTS counter (id INT NOT NULL PRIMARY KEY, n INT NOT NULL)",
			"INSERT INTO counter (id, n) VALUES (1, 0)",
		})
		if err != nil {
			b.Fatal(err)
		}
		if !c.Serialize {
			b.Cleanup(func() {
				if err := db.Close(); err != nil {
					b.Error(err)
				}
			})
		}
		b.SetParallelism(4)
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				err := increment(ctx, db)
				if err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}
