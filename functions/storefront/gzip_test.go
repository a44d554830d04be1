package storefront_test

import (
	"bytes"
	"compress/gzip"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/knshop/knshop/functions/storefront"
)

var update = flag.Bool("update", false, "rewrite the compressed copies of web/")

// Every file of web/ that compresses has its compressed copy beside it, and
// the copy is of the file as it is now: the storefront serves the copies
// instead of compressing at start. `go test ./functions/storefront -run
// TestCompressedCopies -update` writes them after a change.
func TestCompressedCopies(t *testing.T) {
	files, err := filepath.Glob("web/*")
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, f := range files {
		have[f] = true
	}
	for _, f := range files {
		if strings.HasSuffix(f, storefront.GzipExt) {
			if !have[strings.TrimSuffix(f, storefront.GzipExt)] {
				t.Errorf("%s is the copy of a file that is gone", f)
			}
			continue
		}
		plain, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		z := storefront.Gzip(plain)
		copyName := f + storefront.GzipExt
		if *update {
			if len(z) < len(plain) {
				err = os.WriteFile(copyName, z, 0o644)
			} else {
				err = os.Remove(copyName)
				if os.IsNotExist(err) {
					err = nil
				}
			}
			if err != nil {
				t.Fatal(err)
			}
			continue
		}
		stored, err := os.ReadFile(copyName)
		if os.IsNotExist(err) {
			if len(z) < len(plain) {
				t.Errorf("%s has no compressed copy; run go test ./functions/storefront -run TestCompressedCopies -update", f)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		zr, err := gzip.NewReader(bytes.NewReader(stored))
		if err != nil {
			t.Fatalf("%s: %v", copyName, err)
		}
		got, err := io.ReadAll(zr)
		if err != nil || !bytes.Equal(got, plain) {
			t.Errorf("%s is not the copy of %s as it is now (%v); run go test ./functions/storefront -run TestCompressedCopies -update", copyName, f, err)
		}
	}
}
