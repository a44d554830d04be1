package main

import (
	"archive/tar"
	"bytes"
	"debug/elf"
	"errors"
	"io"
	"log"
	"log/slog"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// files lists the regular files of img's single layer with their modes.
func files(t *testing.T, img v1.Image) map[string]*tar.Header {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	if len(layers) != 1 {
		t.Fatalf("%d layers, want 1", len(layers))
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	out := map[string]*tar.Header{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out[h.Name] = h
	}
}

// checkConfig asserts how the image runs.
func checkConfig(t *testing.T, img v1.Image) *v1.ConfigFile {
	t.Helper()
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cf.Config.Entrypoint, []string{"/fn"}) {
		t.Errorf("entrypoint %v, want [/fn]", cf.Config.Entrypoint)
	}
	if cf.Config.User != "65532:65532" {
		t.Errorf("user %q, want 65532:65532", cf.Config.User)
	}
	if !slices.Contains(cf.Config.Env, "LISTEN_ADDRESS=:8080") {
		t.Errorf("env %v lacks LISTEN_ADDRESS=:8080", cf.Config.Env)
	}
	if cf.OS != "linux" {
		t.Errorf("os %q", cf.OS)
	}
	return cf
}

func TestBuild(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		spec      Spec
		wantErr   error
		wantFiles []string
	}{
		"no binary": {spec: Spec{Arch: "amd64"}, wantErr: ErrNoBinary},
		"binary and CA bundle": {
			spec:      Spec{Binary: []byte("\x7fELF fake"), CABundle: []byte("-----BEGIN CERTIFICATE-----"), Arch: "arm64"},
			wantFiles: []string{"fn", "etc/ssl/certs/ca-certificates.crt", "etc/passwd", "etc/group"},
		},
		"binary without CA bundle": {
			spec:      Spec{Binary: []byte("\x7fELF fake"), Arch: "amd64"},
			wantFiles: []string{"fn", "etc/passwd", "etc/group"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			img, err := Build(tc.spec)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Build: %v, want %v", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			cf := checkConfig(t, img)
			if cf.Architecture != tc.spec.Arch {
				t.Errorf("architecture %q, want %q", cf.Architecture, tc.spec.Arch)
			}
			got := files(t, img)
			for _, f := range tc.wantFiles {
				if got[f] == nil {
					t.Errorf("layer lacks %s", f)
				}
			}
			if _, ok := got["etc/ssl/certs/ca-certificates.crt"]; ok != (tc.spec.CABundle != nil) {
				t.Errorf("CA bundle in layer: %v, given: %v", ok, tc.spec.CABundle != nil)
			}
			fn := got["fn"]
			if fn.Mode != 0o555 || fn.Uid != 0 {
				t.Errorf("fn mode %o uid %d: want 555 owned by root, so user 65532 cannot replace it", fn.Mode, fn.Uid)
			}
			again, err := Build(tc.spec)
			if err != nil {
				t.Fatal(err)
			}
			d1, err := img.Digest()
			if err != nil {
				t.Fatal(err)
			}
			d2, err := again.Digest()
			if err != nil {
				t.Fatal(err)
			}
			if d1 != d2 {
				t.Errorf("two builds of the same input differ: %s, %s", d1, d2)
			}
		})
	}
}

func TestPushToRegistry(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	img, err := Build(Spec{Binary: []byte("\x7fELF fake"), Arch: "amd64"})
	if err != nil {
		t.Fatal(err)
	}
	host := strings.TrimPrefix(srv.URL, "http://")
	ref, err := Push(host+"/knshop/fn:test", img)
	if err != nil {
		t.Fatalf("Push: %v", err)
	}
	want, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(ref, "@"+want.String()) {
		t.Fatalf("Push returned %q, want a reference by digest %s", ref, want)
	}
	d, err := name.NewDigest(ref)
	if err != nil {
		t.Fatal(err)
	}
	pulled, err := remote.Image(d)
	if err != nil {
		t.Fatalf("pull %s: %v", ref, err)
	}
	checkConfig(t, pulled)
}

// TestImageOfCmdFn builds cmd/fn the way `make image` does, packages it,
// reads the image back from the OCI layout and the tarball, and runs the
// binary. The sizes it logs are the ones in docs/deploy.md.
func TestImageOfCmdFn(t *testing.T) {
	if testing.Short() {
		t.Skip("builds cmd/fn")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "fn")
	build := exec.CommandContext(t.Context(), "go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, "../../cmd/fn")
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build cmd/fn: %v\n%s", err, out)
	}
	checkStatic(t, bin)

	o := options{binary: bin, caBundle: "/etc/ssl/certs/ca-certificates.crt", layoutDir: filepath.Join(dir, "layout"),
		tarballPath: filepath.Join(dir, "image.tar"), tag: "knshop/fn:test", arch: "amd64"}
	var logs bytes.Buffer
	if err := run(o, io.Discard, slog.New(slog.NewTextHandler(&logs, nil))); err != nil {
		t.Fatalf("run: %v", err)
	}

	p, err := layout.FromPath(o.layoutDir)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := p.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != 1 {
		t.Fatalf("layout holds %d manifests, want 1", len(im.Manifests))
	}
	img, err := p.Image(im.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	checkConfig(t, img)
	size, err := compressedSize(img)
	if err != nil {
		t.Fatal(err)
	}
	fromTar, err := tarball.ImageFromPath(o.tarballPath, nil)
	if err != nil {
		t.Fatalf("read tarball: %v", err)
	}
	checkConfig(t, fromTar)

	st, err := os.Stat(bin)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("cmd/fn static binary: %d bytes (%.1f MiB); image compressed: %d bytes (%.1f MiB)",
		st.Size(), float64(st.Size())/(1<<20), size, float64(size)/(1<<20))
	if size > st.Size() {
		t.Errorf("compressed image %d bytes is larger than the binary %d: the layer should be the binary, compressed", size, st.Size())
	}

	// The binary in the image refuses to start without a function to serve.
	cmd := exec.CommandContext(t.Context(), bin)
	cmd.Env = []string{"FUNCTION=no-such-function"}
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("fn with an unknown FUNCTION: %v, want exit status 1\n%s", err, out)
	}
	if !strings.Contains(string(out), "unknown function") {
		t.Fatalf("fn output does not say why: %s", out)
	}
}

// checkStatic fails if bin asks for a dynamic loader: the image has none.
func checkStatic(t *testing.T, bin string) {
	t.Helper()
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Fatal("binary is dynamically linked; the empty base image has no loader")
		}
	}
}
