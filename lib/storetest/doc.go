// Package storetest gives tests real servers to run against: a fresh MySQL
// database (MariaDB when MYSQL_DSN is set, else an embedded go-mysql-server),
// a fresh MongoDB database (MONGODB_URI, else an embedded FerretDB), an
// in-process Kafka cluster, and a CloudEvents sink that records what it gets.
//
// The embedded servers start once per test binary and are shared by its
// tests; every test gets its own uniquely named database on them.
package storetest

import (
	"crypto/rand"
	"encoding/hex"
	"testing"
)

// uniqueName returns prefix plus a random suffix, short enough for a MySQL
// identifier (64 characters).
func uniqueName(t testing.TB, prefix string) string {
	t.Helper()
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("storetest: random name: %v", err)
	}
	if len(prefix) > 40 {
		prefix = prefix[:40]
	}
	return prefix + "_" + hex.EncodeToString(b)
}
