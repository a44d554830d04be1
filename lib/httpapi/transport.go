package httpapi

import "net/http"

// MaxIdlePerHost is how many idle connections to one host knshop's HTTP
// clients keep. net/http's default keeps 2: a client with more requests in
// flight to one host than that closes the rest after each answer and dials
// anew for the next (measured on `make run` at 10 orders/s: 275
// connections to the timeline and 39 to the orders function closed in
// 20 s).
const MaxIdlePerHost = 64

// NewTransport is net/http's default transport (proxy from the
// environment, dial and TLS timeouts, HTTP/2, idle connections closed after
// 90 s) that keeps MaxIdlePerHost idle connections to each host, with no
// limit across hosts. Every knshop HTTP client that talks to the Broker or
// to functions uses one: the event senders (lib/sink), the local Broker's
// deliveries and the local gateway.
func NewTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 0
	t.MaxIdleConnsPerHost = MaxIdlePerHost
	return t
}
