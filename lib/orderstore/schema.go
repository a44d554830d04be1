package orderstore

import "github.com/knshop/knshop/lib/outbox"

// Migrations create the orders database. Every step is idempotent DDL, as
// sqlstore.Open requires; append new steps, never edit old ones.
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
}
