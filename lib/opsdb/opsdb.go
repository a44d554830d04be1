// Package opsdb names the operations area's databases: the MySQL database
// of the dead letters (lib/deadletter) and the MongoDB database of the
// order timeline (lib/timeline) share the name, and the MySQL one's
// migrations are here.
package opsdb

import "github.com/knshop/knshop/lib/areadb"

// Database is the name of the operations area's databases.
const Database = "operations"

// DatabaseKey names another database than Database in a function's
// configuration (areadb's rule; tests give each run its own).
var DatabaseKey = areadb.Key(Database)

// Migrations create the operations MySQL database: the dead letters. Each
// step is idempotent DDL; append new steps, never edit old ones.
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
}
