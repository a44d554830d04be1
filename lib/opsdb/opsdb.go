// Package opsdb names the operations area's MySQL database, which holds the
// dead letters (lib/deadletter) and the order timeline (lib/timeline), and
// holds its migrations.
package opsdb

import (
	"github.com/knshop/knshop/lib/areadb"
	"github.com/knshop/knshop/lib/sqlstore"
)

// Database is the name of the operations area's database.
const Database = "operations"

// DatabaseKey names another database than Database in a function's
// configuration (areadb's rule; tests give each run its own).
var DatabaseKey = areadb.Key(Database)

// ConfigFrom reads where the operations database lives from a function's
// cfg: MYSQL_DSN, KNSHOP_SERIALIZE_DB and, optionally, OPERATIONS_DATABASE.
func ConfigFrom(cfg map[string]string) (sqlstore.Config, error) {
	return sqlstore.ConfigFrom(cfg, Database)
}

// Migrations create the operations MySQL database: the dead letters, then
// the timeline's entries. Each step is one sqlstore.Open can run again
// after a crash; append new steps, never edit old ones.
var Migrations = []string{
	`CREATE TABLE IF NOT EXISTS dead_letters (
		id VARCHAR(64) NOT NULL PRIMARY KEY,
		event_id VARCHAR(255) NOT NULL,
		event_source VARCHAR(1000) NOT NULL,
		event_type VARCHAR(255) NOT NULL,
		event LONGBLOB NOT NULL,
		error_dest VARCHAR(2000) NULL,
		error_code INT NULL,
		error_data TEXT NULL,
		arrivals INT NOT NULL,
		received_at DATETIME(6) NOT NULL,
		replayed_at DATETIME(6) NULL,
		KEY dead_letters_received (received_at)
	)`,
	`CREATE TABLE IF NOT EXISTS timeline_entries (
		seq BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
		order_id VARCHAR(255) NOT NULL,
		id VARCHAR(64) NOT NULL,
		at DATETIME(6) NOT NULL,
		kind VARCHAR(16) NOT NULL,
		type VARCHAR(1000) NOT NULL,
		event_id VARCHAR(1000) NOT NULL,
		source VARCHAR(1000) NOT NULL,
		detail TEXT NOT NULL,
		recorded_at DATETIME(6) NOT NULL,
		UNIQUE KEY timeline_entry (order_id, id),
		KEY timeline_recorded (recorded_at)
	)`,
}
