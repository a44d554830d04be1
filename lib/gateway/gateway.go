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
	areas map[string]*httputil.ReverseProxy
}

// New returns a Gateway sending area → the base URL in routes.
func New(routes map[string]*url.URL, log *slog.Logger) (*Gateway, error) {
	g := &Gateway{areas: make(map[string]*httputil.ReverseProxy, len(routes))}
	for area, target := range routes {
		if target == nil || target.Host == "" {
			return nil, fmt.Errorf("gateway: area %q has no target", area)
		}
		p := httputil.NewSingleHostReverseProxy(target)
		p.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
			log.WarnContext(r.Context(), "gateway: function unreachable", "area", area, "error", err)
			httpapi.WriteProblem(w, r, httpapi.NewProblem(http.StatusBadGateway, "bad-gateway", "the "+area+" service is unavailable; try again"))
		}
		g.areas[area] = p
	}
	return g, nil
}

// ServeHTTP routes by the first segment after /api/.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.Path, "/api/")
	if !ok {
		httpapi.WriteProblem(w, r, httpapi.NotFound("route"))
		return
	}
	area, _, _ := strings.Cut(rest, "/")
	p, ok := g.areas[area]
	if !ok {
		httpapi.WriteProblem(w, r, httpapi.NotFound("route"))
		return
	}
	p.ServeHTTP(w, r)
}
