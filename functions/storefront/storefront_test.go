package storefront_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/knshop/knshop/functions/storefront"
	"github.com/knshop/knshop/lib/storetest"
)

// get reads url as the server sent it: no transparent decompression.
func get(t *testing.T, url string, header ...string) (storetest.Answer, []byte) {
	t.Helper()
	a := storetest.CallWith(t, (&http.Transport{DisableCompression: true}).RoundTrip, http.MethodGet, url, "", "", header...)
	return a, a.Body
}

func TestServesTheApplicationSafely(t *testing.T) {
	base := storetest.ServeFunction(t, storefront.Name, storefront.New(), nil)

	resp, index := get(t, base+"/")
	if resp.Status != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("/ = %d %s", resp.Status, resp.Header.Get("Content-Type"))
	}
	csp := resp.Header.Get("Content-Security-Policy")
	for _, want := range []string{"script-src 'self'", "default-src 'none'", "frame-ancestors 'none'", "base-uri 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe") {
		t.Errorf("CSP allows something unsafe: %q", csp)
	}
	if resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Error("no nosniff")
	}
	// No inline script anywhere: every <script> has a src and no body, and
	// no element carries an on* handler attribute.
	for _, m := range regexp.MustCompile(`(?s)<script([^>]*)>(.*?)</script>`).FindAllSubmatch(index, -1) {
		if !bytes.Contains(m[1], []byte("src=")) || len(bytes.TrimSpace(m[2])) > 0 {
			t.Errorf("inline script: %s", m[0])
		}
	}
	if regexp.MustCompile(`(?i)\son[a-z]+=`).Match(index) {
		t.Error("an inline event handler in index.html")
	}

	// The script never turns text into HTML.
	_, js := get(t, base+"/app.js")
	for _, sink := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"} {
		if bytes.Contains(js, []byte(sink)) {
			t.Errorf("app.js uses %s", sink)
		}
	}

	// gzip when asked, the same bytes once inflated; an ETag revalidates.
	plain, _ := get(t, base+"/app.js")
	zresp, zbody := get(t, base+"/app.js", "Accept-Encoding", "gzip, br")
	if zresp.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("no gzip: %v", zresp.Header)
	}
	zr, err := gzip.NewReader(bytes.NewReader(zbody))
	if err != nil {
		t.Fatal(err)
	}
	inflated, _ := io.ReadAll(zr)
	if !bytes.Equal(inflated, js) || len(zbody) >= len(js) {
		t.Fatalf("gzip body: %d bytes inflating to %d, plain %d", len(zbody), len(inflated), len(js))
	}
	if etag := plain.Header.Get("ETag"); etag == "" {
		t.Fatal("no ETag")
	} else if again, _ := get(t, base+"/app.js", "If-None-Match", etag); again.Status != http.StatusNotModified {
		t.Fatalf("If-None-Match = %d, want 304", again.Status)
	}

	// A bookmarked view gets the application; a missing file, /api and
	// other methods get problems.
	if r, b := get(t, base+"/orders"); r.Status != 200 || !bytes.Equal(b, index) {
		t.Fatalf("/orders = %d", r.Status)
	}
	for _, path := range []string{"/missing.js", "/api/orders", "/app.js.gz"} { // a compressed copy is not a file of its own
		if r, _ := get(t, base+path); r.Status != 404 || r.Header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s = %d %s", path, r.Status, r.Header.Get("Content-Type"))
		}
	}
	post, err := http.Post(base+"/", "text/plain", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	post.Body.Close()
	if post.StatusCode != 405 || post.Header.Get("Allow") != "GET, HEAD" {
		t.Fatalf("POST / = %d, Allow %q", post.StatusCode, post.Header.Get("Allow"))
	}
}
