// Package storefront is the storefront function: the web storefront and
// back office (customers, sellers, couriers, admins), a static application
// embedded in the binary that calls the /api routes from the browser with
// the user's own tokens. It serves everything outside /api/ (the gateway
// and the Ingress route / to it): GET and HEAD only, every file with a
// Content-Security-Policy that allows no inline script and no other origin,
// an ETag, and gzip when the browser takes it.
package storefront

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/knshop/knshop/lib/httpapi"
)

// Name is the function's name.
const Name = "storefront"

//go:embed web
var web embed.FS

// CSP is the Content-Security-Policy of every answer: scripts, styles,
// fonts and API calls from this origin only, no inline script or style
// attribute, images from this origin or any https URL (product images are
// URLs sellers give), no framing, no plugins.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' https: data:; " +
	"connect-src 'self'; font-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// asset is one embedded file, ready to serve.
type asset struct {
	name        string
	contentType string
	plain       []byte
	gzipped     []byte
	etag        string
}

// Function is the storefront.
type Function struct {
	assets map[string]*asset // by URL path
	index  *asset
	start  time.Time
}

// New returns the storefront with its files loaded and compressed.
func New() *Function {
	f, err := load(web)
	if err != nil {
		panic(fmt.Sprintf("storefront: the embedded files: %v", err)) // a broken build, not a runtime state
	}
	return f
}

func load(files fs.FS) (*Function, error) {
	root, err := fs.Sub(files, "web")
	if err != nil {
		return nil, err
	}
	f := &Function{assets: map[string]*asset{}, start: time.Now()}
	err = fs.WalkDir(root, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path.Ext(p) == GzipExt {
			return err
		}
		b, err := fs.ReadFile(root, p)
		if err != nil {
			return err
		}
		a := &asset{name: p, plain: b, contentType: mime.TypeByExtension(path.Ext(p))}
		if a.contentType == "" {
			a.contentType = "application/octet-stream"
		}
		sum := sha256.Sum256(b)
		a.etag = `"` + hex.EncodeToString(sum[:8]) + `"`
		// Compressed at build time (Gzip, kept beside each file): at
		// start it took 5 ms, twice the readiness of a bare server.
		if z, err := fs.ReadFile(root, p+GzipExt); err == nil && len(z) < len(b) {
			a.gzipped = z
		}
		f.assets["/"+p] = a
		return nil
	})
	if err != nil {
		return nil, err
	}
	if f.index = f.assets["/index.html"]; f.index == nil {
		return nil, fmt.Errorf("no index.html")
	}
	return f, nil
}

// GzipExt ends the name of a file's compressed copy in web/: Gzip writes
// it, and a test fails when one is missing or does not match its file.
const GzipExt = ".gz"

// Gzip compresses b as the storefront serves it (best compression: it is
// done once, when the files change).
func Gzip(b []byte) []byte {
	var z bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&z, gzip.BestCompression)
	zw.Write(b)
	zw.Close()
	return z.Bytes()
}

// Handle serves the application: / and any path without a file extension
// (a bookmarked view) get index.html; a file that is not there is a 404.
func (f *Function) Handle(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", CSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.Set("Allow", "GET, HEAD")
		httpapi.WriteProblem(w, r, httpapi.MethodNotAllowed(r))
		return
	}
	if strings.HasPrefix(r.URL.Path, "/api/") {
		httpapi.WriteProblem(w, r, httpapi.NotFound("route"))
		return
	}
	a, ok := f.assets[r.URL.Path]
	switch {
	case ok:
	case path.Ext(r.URL.Path) == "":
		a = f.index
	default:
		httpapi.WriteProblem(w, r, httpapi.NotFound("file"))
		return
	}
	h.Set("Content-Type", a.contentType)
	h.Set("Cache-Control", "no-cache") // revalidate: the ETag makes it cheap
	h.Set("ETag", a.etag)
	h.Add("Vary", "Accept-Encoding")
	body := a.plain
	if a.gzipped != nil && acceptsGzip(r) {
		h.Set("Content-Encoding", "gzip")
		body = a.gzipped
	}
	http.ServeContent(w, r, "", f.start, bytes.NewReader(body))
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		name, q, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(name), "gzip") && strings.ReplaceAll(q, " ", "") != "q=0" {
			return true
		}
	}
	return false
}
