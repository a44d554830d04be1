// Package sqlstore opens a function's MySQL database: it creates the
// database when missing, applies the function's migrations once, and, for the
// embedded engine, funnels every transaction of the process through one
// connection.
package sqlstore

import (
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
	c := Config{DSN: cfg["MYSQL_DSN"], Database: areadb.Name(cfg, database)}
	if c.DSN == "" {
		return Config{}, fmt.Errorf("%w: MYSQL_DSN is not set", ErrConfig)
	}
	if c.Database == "" {
		return Config{}, fmt.Errorf("%w: no database name", ErrConfig)
	}
	if _, err := mysql.ParseDSN(c.DSN); err != nil {
		// The DSN may hold a password: do not echo it.
		return Config{}, fmt.Errorf("%w: MYSQL_DSN does not parse", ErrConfig)
	}
	serialize, err := areadb.Serialize(cfg, "MYSQL")
	if err != nil {
		return Config{}, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	c.Serialize = serialize
	return c, nil
}

// String describes c without the DSN's credentials, for logs.
func (c Config) String() string {
	host := "?"
	if d, err := mysql.ParseDSN(c.DSN); err == nil {
		host = d.Addr
	}
	return fmt.Sprintf("mysql %s/%s serialize=%t", host, c.Database, c.Serialize)
}
