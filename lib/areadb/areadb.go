// Package areadb is what every store reads from a function's configuration
// the same way, whatever its engine. The naming rule: each area owns a
// database with a default name (orders, payments, deliveries, catalog,
// identity, operations), and <NAME>_DATABASE (ORDERS_DATABASE,
// IDENTITY_DATABASE, ...) names another one; tests give each run its own
// that way. And the serialize switch of the embedded engines.
// sqlstore.ConfigFrom and mongostore.ConfigFrom apply both.
package areadb

import (
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
