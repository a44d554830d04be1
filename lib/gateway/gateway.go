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

// WithRoot sends every path outside /api/ to target (the storefront).
func (g *Gateway) WithRoot(target *url.URL, log *slog.Logger) error {
	p, err := proxy("/", target, log)
	if err != nil {
		return err
	}
	g.root = p
	return nil
}

// Nested sends /api/<Area>/{id}/<Leaf> and below to Target instead of the
// area's function.
type Nested struct {
	Area, Leaf string
	Target     *url.URL
}

// New returns a Gateway sending area → the base URL in routes, and the
// nested routes to theirs.
func New(routes map[string]*url.URL, nested []Nested, log *slog.Logger) (*Gateway, error) {
	g := &Gateway{areas: make(map[string]*httputil.ReverseProxy, len(routes)), nested: map[[2]string]*httputil.ReverseProxy{}}
	for area, target := range routes {
		p, err := proxy(area, target, log)
		if err != nil {
			return nil, err
		}
		g.areas[area] = p
	}
	for _, n := range nested {
		p, err := proxy(n.Area+"/{id}/"+n.Leaf, n.Target, log)
		if err != nil {
			return nil, err
		}
		g.nested[[2]string{n.Area, n.Leaf}] = p
	}
	return g, nil
}

func proxy(route string, target *url.URL, log *slog.Logger) (*httputil.ReverseProxy, error) {
	if target == nil || target.Host == "" {
		return nil, fmt.Errorf("gateway: %q has no target", route)
	}
	p := httputil.NewSingleHostReverseProxy(target)
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
