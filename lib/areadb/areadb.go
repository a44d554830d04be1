// Package areadb is what every store reads from a function's configuration
// the same way, whatever its engine. The naming rule: each area owns a
// database with a default name (orders, payments, deliveries, catalog,
// identity, operations), and <NAME>_DATABASE (ORDERS_DATABASE,
// IDENTITY_DATABASE, ...) names another one; tests give each run its own
// that way. And the serialize switch of the embedded engines.
// sqlstore.ConfigFrom and mongostore.ConfigFrom apply both.
package areadb

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// Key is the configuration key that renames database: its name in upper
// case, then _DATABASE.
func Key(database string) string { return strings.ToUpper(database) + "_DATABASE" }

// Name is the database cfg asks for in place of database: Key(database)'s
// value, else database itself.
func Name(cfg map[string]string, database string) string {
	if n := cfg[Key(database)]; n != "" {
		return n
	}
	return database
}

// Serialize reads whether the stores of engine (MYSQL, MONGODB) share one
// connection per database in the process: KNSHOP_SERIALIZE_<ENGINE>, else
// KNSHOP_SERIALIZE_DB, else false. The embedded engines need it.
func Serialize(cfg map[string]string, engine string) (bool, error) {
	key := "KNSHOP_SERIALIZE_" + engine
	if cfg[key] == "" {
		key = "KNSHOP_SERIALIZE_DB"
	}
	v := cfg[key]
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("%s=%q is not a boolean", key, v)
	}
	return b, nil
}

// Place is where an area's database lives, as a function's configuration
// says: the server's address (a DSN or a URI), the database's name, and
// the serialize switch.
type Place struct {
	Addr      string
	Database  string
	Serialize bool
}

// Read reads the Place of database on engine (MYSQL, MONGODB) from cfg: the
// address from addrKey (required), the name by Name, the switch by
// Serialize. Its errors name the key, never its value (a DSN may hold a
// password).
func Read(cfg map[string]string, addrKey, engine, database string) (Place, error) {
	p := Place{Addr: cfg[addrKey], Database: Name(cfg, database)}
	if p.Addr == "" {
		return Place{}, fmt.Errorf("%s is not set", addrKey)
	}
	if p.Database == "" {
		return Place{}, fmt.Errorf("no database name")
	}
	serialize, err := Serialize(cfg, engine)
	if err != nil {
		return Place{}, err
	}
	p.Serialize = serialize
	return p, nil
}

// Env is the configuration Read reads p from, for database on engine: what
// a test or a local runner hands a function's Start.
func (p Place) Env(addrKey, engine, database string) map[string]string {
	env := map[string]string{addrKey: p.Addr, Key(database): p.Database}
	if p.Serialize {
		env["KNSHOP_SERIALIZE_"+engine] = "true"
	}
	return env
}

// Opener makes an opener of a function's configuration out of read (an
// engine's ConfigFrom) and open (a store's Open), for the database whose
// default name is database.
func Opener[C, S any](read func(map[string]string, string) (C, error), database string,
	open func(context.Context, C) (S, error)) func(context.Context, map[string]string) (S, error) {
	return func(ctx context.Context, cfg map[string]string) (S, error) {
		c, err := read(cfg, database)
		if err != nil {
			var none S
			return none, err
		}
		return open(ctx, c)
	}
}
