package storetest

import (
	"net"
	"testing"
)

// FreeAddr is a loopback address nobody listens on (it was free a moment
// ago): for a server a test starts there, or a peer that must refuse.
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}
