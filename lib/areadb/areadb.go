// Package areadb is the one naming rule of knshop's databases: each area
// owns a database with a default name (orders, payments, deliveries,
// catalog, identity, operations), and <NAME>_DATABASE in a function's
// configuration (ORDERS_DATABASE, IDENTITY_DATABASE, ...) names another
// one; tests give each run its own that way. sqlstore.ConfigFrom and
// mongostore.ConfigFrom apply it, so every store gets it the same way.
package areadb

import "strings"

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
