package embedded_test

import (
	"testing"

	"github.com/knshop/knshop/lib/embedded"
)

// BenchmarkMySQLCommit measures what the crash journal costs: one
// transaction of two writes (an INSERT and an UPDATE, as a saga step does),
// on the embedded MySQL without a data directory (memory only, no journal)
// and with one (every commit appended to the journal before its OK).
func BenchmarkMySQLCommit(b *testing.B) {
	for name, dir := range map[string]func() string{"memory only": func() string { return "" }, "journaled": b.TempDir} {
		b.Run(name, func(b *testing.B) {
			m, err := embedded.StartMySQL(b.Context(), dir(), "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(m.Close)
			db := connect(b, m, "bench")
			db.SetMaxOpenConns(1)
			exec(b, db, "CREATE TABLE t (id BIGINT NOT NULL PRIMARY KEY, n BIGINT NOT NULL, note VARCHAR(40) NOT NULL)")
			i := 0
			for b.Loop() {
				i++
				tx, err := db.BeginTx(b.Context(), nil)
				if err != nil {
					b.Fatal(err)
				}
				exec(b, tx, "INSERT INTO t (id, n, note) VALUES (?, ?, ?)", i, 0, "placed")
				exec(b, tx, "UPDATE t SET n = n + 1, note = ? WHERE id = ?", "moved", i)
				if err := tx.Commit(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "commits/s")
		})
	}
}
