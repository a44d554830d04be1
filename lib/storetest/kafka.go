package storetest

import (
	"testing"

	"github.com/knshop/knshop/lib/embedded"
)

// Kafka starts an in-process, one-broker Kafka cluster for this test and
// returns its bootstrap addresses. Topics are created on first use. The
// cluster stops when t ends.
func Kafka(t testing.TB) []string {
	t.Helper()
	k, err := embedded.StartKafka(t.Context(), "127.0.0.1:0")
	if err != nil {
		t.Fatalf("storetest: kafka: %v", err)
	}
	t.Cleanup(k.Close)
	return k.Addrs()
}
