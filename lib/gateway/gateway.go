// Package gateway is the local stand-in for the cluster's Ingress: one
// address that sends /api/<area>/... to the HTTP function serving that
// area, so a client cannot tell the local run from the cluster.
package gateway

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"

	"github.com/knshop/knshop/lib/httpapi"
)

// Gateway proxies each API area to its function.
type Gateway struct {
	areas  map[string]*httputil.ReverseProxy
	nested map[[2]string]*httputil.ReverseProxy // {area, leaf}
	root   *httputil.ReverseProxy               // everything outside /api/, when set
}

// Nested sends /api/<Area>/{id}/<Leaf> and below to Target instead of the
// area's function.
type Nested struct {
	Area, Leaf string
	Target     *url.URL
}

// Routes says where the gateway sends what.
type Routes struct {
	Areas  map[string]*url.URL // /api/<area>/... by area
	Nested []Nested            // /api/<area>/{id}/<leaf>...
	Root   *url.URL            // every path outside /api/ (the storefront); nil answers 404
}

// New returns a Gateway following r.
func New(r Routes, log *slog.Logger) (*Gateway, error) {
	g := &Gateway{areas: make(map[string]*httputil.ReverseProxy, len(r.Areas)), nested: map[[2]string]*httputil.ReverseProxy{}}
	for area, target := range r.Areas {
		p, err := proxy(area, target, log)
		if err != nil {
			return nil, err
		}
		g.areas[area] = p
	}
	for _, n := range r.Nested {
		p, err := proxy(n.Area+"/{id}/"+n.Leaf, n.Target, log)
		if err != nil {
			return nil, err
		}
		g.nested[[2]string{n.Area, n.Leaf}] = p
	}
	if r.Root != nil {
		p, err := proxy("/", r.Root, log)
		if err != nil {
			return nil, err
		}
		g.root = p
	}
	return g, nil
}

// transport carries every route's requests, keeping idle connections to
// each function for the requests in flight (httpapi.NewTransport).
var transport = httpapi.NewTransport()

func proxy(route string, target *url.URL, log *slog.Logger) (*httputil.ReverseProxy, error) {
	if target == nil || target.Host == "" {
		return nil, fmt.Errorf("gateway: %q has no target", route)
	}
	p := httputil.NewSingleHostReverseProxy(target)
	p.Transport = transport
	p.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
		log.WarnContext(r.Context(), "gateway: function unreachable", "route", route, "error", err)
		httpapi.WriteProblem(w, r, httpapi.NewProblem(http.StatusBadGateway, "bad-gateway", "the "+route+" service is unavailable; try again"))
	}
	return p, nil
}

// ServeHTTP routes a nested route (/api/<area>/<id>/<leaf>...) to its
// function, anything else under /api/ by its first segment, and anything
// outside /api/ to the root (the storefront), when there is one.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.Path, "/api/")
	if !ok {
		if g.root != nil && r.URL.Path != "/api" {
			g.root.ServeHTTP(w, r)
			return
		}
		httpapi.WriteProblem(w, r, httpapi.NotFound("route"))
		return
	}
	segs := strings.SplitN(rest, "/", 4)
	if len(segs) >= 3 && segs[1] != "" {
		if p, ok := g.nested[[2]string{segs[0], segs[2]}]; ok {
			p.ServeHTTP(w, r)
			return
		}
	}
	p, ok := g.areas[segs[0]]
	if !ok {
		httpapi.WriteProblem(w, r, httpapi.NotFound("route"))
		return
	}
	p.ServeHTTP(w, r)
}
