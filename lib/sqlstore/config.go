// Package sqlstore opens a function's MySQL database: it creates the
// database when missing, applies the function's migrations once, and, for the
// embedded engine, funnels every transaction of the process through one
// connection.
package sqlstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/go-sql-driver/mysql"
	"github.com/knshop/knshop/lib/areadb"
)

// ErrConfig reports missing or malformed configuration.
var ErrConfig = errors.New("sqlstore: bad configuration")

// Config says where a function's database lives.
type Config struct {
	// DSN is a go-sql-driver DSN without a database name,
	// e.g. "root:pw@tcp(127.0.0.1:3306)/".
	DSN string
	// Database is the database the function owns, e.g. "orders".
	Database string
	// Serialize shares one connection per database in the process. Set it
	// for engines that take no row locks (the embedded go-mysql-server).
	Serialize bool
}

// ConfigFrom reads MYSQL_DSN (required) and KNSHOP_SERIALIZE_MYSQL, or
// else KNSHOP_SERIALIZE_DB, from cfg for the given database, renamed by
// <DATABASE>_DATABASE when cfg has it (areadb).
func ConfigFrom(cfg map[string]string, database string) (Config, error) {
	p, err := areadb.Read(cfg, dsnKey, engine, database)
	if err != nil {
		return Config{}, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	if _, err := mysql.ParseDSN(p.Addr); err != nil {
		// The DSN may hold a password: do not echo it.
		return Config{}, fmt.Errorf("%w: %s does not parse", ErrConfig, dsnKey)
	}
	return Config{DSN: p.Addr, Database: p.Database, Serialize: p.Serialize}, nil
}

// The configuration keys: the server, and the engine's serialize switch.
const (
	dsnKey = "MYSQL_DSN"
	engine = "MYSQL"
)

// Env is the configuration ConfigFrom reads c from, for the database whose
// default name is database (its <DATABASE>_DATABASE names c's): what a test
// hands a function's Start.
func (c Config) Env(database string) map[string]string {
	return areadb.Place{Addr: c.DSN, Database: c.Database, Serialize: c.Serialize}.Env(dsnKey, engine, database)
}

// From makes an opener of a function's configuration out of open, for the
// database whose default name is database: ConfigFrom, then open.
func From[S any](database string, open func(context.Context, Config) (S, error)) func(context.Context, map[string]string) (S, error) {
	return areadb.Opener(ConfigFrom, database, open)
}

// String describes c without the DSN's credentials, for logs.
func (c Config) String() string {
	host := "?"
	if d, err := mysql.ParseDSN(c.DSN); err == nil {
		host = d.Addr
	}
	return fmt.Sprintf("mysql %s/%s serialize=%t", host, c.Database, c.Serialize)
}
