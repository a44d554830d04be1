package orderstore

import "github.com/knshop/knshop/lib/outbox"

// Migrations create the orders database. Every step is one sqlstore.Open
// can run again after a crash (idempotent DDL, or a column or an index
// added); append new steps, never edit old ones.
var Migrations = []string{
	`CREATE TABLE IF NOT EXISTS products (
		id VARCHAR(64) NOT NULL PRIMARY KEY,
		name VARCHAR(300) NOT NULL,
		price_amount BIGINT NOT NULL,
		price_currency CHAR(3) NOT NULL,
		stock BIGINT NOT NULL,
		deleted BOOLEAN NOT NULL,
		version BIGINT NOT NULL,
		updated_at DATETIME(6) NOT NULL
	)`,
	`CREATE TABLE IF NOT EXISTS customers (
		id VARCHAR(64) NOT NULL PRIMARY KEY,
		email VARCHAR(320) NOT NULL,
		name VARCHAR(300) NOT NULL,
		addresses JSON NOT NULL,
		version BIGINT NOT NULL,
		updated_at DATETIME(6) NOT NULL
	)`,
	`CREATE TABLE IF NOT EXISTS cart_items (
		customer_id VARCHAR(64) NOT NULL,
		product_id VARCHAR(64) NOT NULL,
		quantity BIGINT NOT NULL,
		added_at DATETIME(6) NOT NULL,
		PRIMARY KEY (customer_id, product_id)
	)`,
	`CREATE TABLE IF NOT EXISTS orders (
		id VARCHAR(64) NOT NULL PRIMARY KEY,
		customer_id VARCHAR(64) NOT NULL,
		customer_email VARCHAR(320) NOT NULL,
		customer_name VARCHAR(300) NOT NULL,
		status VARCHAR(16) NOT NULL,
		total_amount BIGINT NOT NULL,
		currency CHAR(3) NOT NULL,
		shipping_address JSON NOT NULL,
		payment_method VARCHAR(200) NOT NULL,
		payment_id VARCHAR(64) NULL,
		payment_status VARCHAR(16) NULL,
		delivery_id VARCHAR(64) NULL,
		delivery_status VARCHAR(16) NULL,
		tracking_number VARCHAR(100) NULL,
		cancel_reason VARCHAR(32) NULL,
		version BIGINT NOT NULL,
		created_at DATETIME(6) NOT NULL,
		updated_at DATETIME(6) NOT NULL,
		KEY orders_by_customer (customer_id, created_at)
	)`,
	`CREATE TABLE IF NOT EXISTS order_items (
		order_id VARCHAR(64) NOT NULL,
		line INT NOT NULL,
		product_id VARCHAR(64) NOT NULL,
		name VARCHAR(300) NOT NULL,
		quantity BIGINT NOT NULL,
		unit_amount BIGINT NOT NULL,
		currency CHAR(3) NOT NULL,
		PRIMARY KEY (order_id, line)
	)`,
	`CREATE TABLE IF NOT EXISTS order_history (
		order_id VARCHAR(64) NOT NULL,
		version BIGINT NOT NULL,
		status VARCHAR(16) NOT NULL,
		at DATETIME(6) NOT NULL,
		PRIMARY KEY (order_id, version)
	)`,
	`CREATE TABLE IF NOT EXISTS idempotency_keys (
		customer_id VARCHAR(64) NOT NULL,
		idem_key VARCHAR(255) NOT NULL,
		request_hash CHAR(64) NOT NULL,
		order_id VARCHAR(64) NOT NULL,
		created_at DATETIME(6) NOT NULL,
		PRIMARY KEY (customer_id, idem_key)
	)`,
	outbox.MySQLTable,
	// The deadline (createdAt + ORDER_PAYMENT_DEADLINE; NULL once paid or
	// ended) and checked_at (the last change or re-drive), each behind an
	// index with the status, so reconcile-orders finds its work without
	// reading every order.
	`ALTER TABLE orders ADD COLUMN deadline DATETIME(6) NULL`,
	`ALTER TABLE orders ADD COLUMN checked_at DATETIME(6) NULL`,
	`ALTER TABLE orders ADD COLUMN redrives INT NOT NULL DEFAULT 0`,
	`UPDATE orders SET checked_at = updated_at`,
	`UPDATE orders SET deadline = created_at + INTERVAL 15 MINUTE WHERE status IN ('PENDING', 'RESERVED')`,
	`CREATE INDEX orders_by_deadline ON orders (status, deadline)`,
	`CREATE INDEX orders_by_checked ON orders (status, checked_at)`,
	// Returns (issue 16): one row per return, its items and its short
	// history (three entries at most) inside the row; the return's own
	// idempotency keys. Looked up by id, by order and by customer.
	`CREATE TABLE IF NOT EXISTS returns (
		id VARCHAR(64) NOT NULL PRIMARY KEY,
		order_id VARCHAR(64) NOT NULL,
		customer_id VARCHAR(64) NOT NULL,
		status VARCHAR(16) NOT NULL,
		items JSON NOT NULL,
		amount BIGINT NOT NULL,
		currency CHAR(3) NOT NULL,
		reason VARCHAR(2000) NOT NULL,
		reject_reason VARCHAR(2000) NULL,
		refund_id VARCHAR(191) NULL,
		history JSON NOT NULL,
		version BIGINT NOT NULL,
		created_at DATETIME(6) NOT NULL,
		updated_at DATETIME(6) NOT NULL,
		KEY returns_by_order (order_id, created_at),
		KEY returns_by_customer (customer_id, created_at)
	)`,
	`CREATE TABLE IF NOT EXISTS return_keys (
		customer_id VARCHAR(64) NOT NULL,
		idem_key VARCHAR(255) NOT NULL,
		request_hash CHAR(64) NOT NULL,
		return_id VARCHAR(64) NOT NULL,
		created_at DATETIME(6) NOT NULL,
		PRIMARY KEY (customer_id, idem_key)
	)`,
	// Each order's items and history inside its row (issue 11): reading an
	// order is one statement and changing it one UPDATE, where the two
	// tables cost two more reads and an insert a state. Both are bounded by
	// the order itself: its lines, and one entry a state it enters. Orders
	// stored before this step have them NULL and their rows still in
	// order_items and order_history, which are read for them until their
	// next change carries both into the row.
	`ALTER TABLE orders ADD COLUMN items JSON NULL`,
	`ALTER TABLE orders ADD COLUMN history JSON NULL`,
}
