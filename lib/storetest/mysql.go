package storetest

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"sync"
	"testing"

	"github.com/go-sql-driver/mysql"
	"github.com/knshop/knshop/lib/embedded"
	"github.com/knshop/knshop/lib/sqlstore"
)

// Engine is a MySQL server a test can run against.
type Engine struct {
	// Name names the engine in subtest names: "embedded", "embedded-pooled"
	// or "mariadb".
	Name string
	// Config returns a fresh database on the engine, dropped when t ends.
	Config func(t testing.TB, database string) sqlstore.Config
}

// embeddedMySQL is the go-mysql-server shared by every test of the binary;
// starting one per test would cost more than the tests.
var embeddedMySQL struct {
	once sync.Once
	srv  *embedded.MySQL
	err  error
}

// MySQL returns a fresh, uniquely named database: on the server of
// MYSQL_DSN when set, else on the embedded engine (with Serialize).
// The database is dropped when t ends.
func MySQL(t testing.TB, database string) sqlstore.Config {
	t.Helper()
	if dsn := os.Getenv("MYSQL_DSN"); dsn != "" {
		return serverMySQL(t, dsn, database)
	}
	return EmbeddedMySQL(t, database)
}

// MySQLEngines lists the engines invariant tests must hold on: always the
// embedded one as `make run` uses it (one connection per database,
// Serialize) and as a store with a pool of its own uses it
// ("embedded-pooled": concurrent transactions, where SELECT ... FOR UPDATE
// must hold), plus "mariadb" when MYSQL_DSN is set.
func MySQLEngines(t testing.TB) []Engine {
	t.Helper()
	engines := []Engine{{Name: "embedded", Config: EmbeddedMySQL}, {Name: "embedded-pooled", Config: pooledMySQL}}
	if dsn := os.Getenv("MYSQL_DSN"); dsn != "" {
		engines = append(engines, Engine{
			Name: "mariadb",
			Config: func(t testing.TB, database string) sqlstore.Config {
				t.Helper()
				return serverMySQL(t, dsn, database)
			},
		})
	}
	return engines
}

// OnEachMySQL runs test as a subtest (or sub-benchmark) of t, named for the
// engine, on each engine of MySQLEngines.
func OnEachMySQL[T interface {
	testing.TB
	Run(name string, f func(T)) bool
}](t T, test func(t T, engine Engine)) {
	t.Helper()
	for _, e := range MySQLEngines(t) {
		t.Run(e.Name, func(t T) { test(t, e) })
	}
}

// EmbeddedMySQL returns a fresh database on the embedded go-mysql-server.
func EmbeddedMySQL(t testing.TB, database string) sqlstore.Config {
	t.Helper()
	embeddedMySQL.once.Do(func() {
		dir, err := os.MkdirTemp("", "knshop-storetest-mysql-")
		if err != nil {
			embeddedMySQL.err = err
			return
		}
		embeddedMySQL.srv, embeddedMySQL.err = embedded.StartMySQL(context.Background(), dir, "127.0.0.1:0")
	})
	if embeddedMySQL.err != nil {
		t.Fatalf("storetest: embedded mysql: %v", embeddedMySQL.err)
	}
	c := sqlstore.Config{DSN: embeddedMySQL.srv.DSN(), Database: uniqueName(t, database), Serialize: true}
	t.Cleanup(func() { dropMySQL(t, c) })
	return c
}

// pooledMySQL is a fresh database on the embedded engine, opened with a
// pool of its own (no Serialize).
func pooledMySQL(t testing.TB, database string) sqlstore.Config {
	t.Helper()
	c := EmbeddedMySQL(t, database)
	c.Serialize = false
	return c
}

func serverMySQL(t testing.TB, dsn, database string) sqlstore.Config {
	t.Helper()
	c := sqlstore.Config{DSN: dsn, Database: uniqueName(t, database)}
	t.Cleanup(func() { dropMySQL(t, c) })
	return c
}

// dropMySQL closes the process's shared pool for c (Serialize), then drops
// the database.
func dropMySQL(t testing.TB, c sqlstore.Config) {
	t.Helper()
	ctx := context.Background()
	if c.Serialize {
		if db, err := sqlstore.Open(ctx, c, nil); err != nil {
			t.Errorf("storetest: reopen %s to close it: %v", c.Database, err)
		} else if err := db.Close(); err != nil {
			t.Errorf("storetest: close %s: %v", c.Database, err)
		}
	}
	d, err := mysql.ParseDSN(c.DSN)
	if err != nil {
		t.Errorf("storetest: parse DSN: %v", err)
		return
	}
	d.DBName = ""
	conn, err := mysql.NewConnector(d)
	if err != nil {
		t.Errorf("storetest: connect: %v", err)
		return
	}
	db := sql.OpenDB(conn)
	_, err = db.ExecContext(ctx, "DROP DATABASE IF EXISTS "+sqlstore.QuoteIdent(c.Database))
	if err = errors.Join(err, db.Close()); err != nil {
		t.Errorf("storetest: drop database %s: %v", c.Database, err)
	}
}
