// Package opsdb is the operations area's MySQL database, shared by the
// dead letters (lib/deadletter) and the order timeline (lib/timeline): its
// name and its migrations, one list for the one database.
package opsdb

// Database is the MySQL database of the operations area.
const Database = "operations"

// Migrations create the operations database: the dead letters
// (lib/deadletter) and the order timeline (lib/timeline). Each step is idempotent DDL;
// append new steps, never edit old ones.
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
	// The order timeline (lib/timeline): what happened to each order,
	// read by order oldest first, purged by time.
	`CREATE TABLE IF NOT EXISTS timeline (
		seq BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
		id VARCHAR(64) NOT NULL,
		order_key VARCHAR(255) NOT NULL,
		at DATETIME(6) NOT NULL,
		kind VARCHAR(16) NOT NULL,
		type VARCHAR(255) NOT NULL,
		event_id VARCHAR(255) NOT NULL,
		source VARCHAR(1000) NOT NULL,
		detail TEXT NOT NULL,
		UNIQUE KEY timeline_id (id),
		KEY timeline_order (order_key, at, seq),
		KEY timeline_at (at)
	)`,
}
