package main

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/knshop/knshop/lib/orderstore"
	"github.com/knshop/knshop/lib/storetest"
)

// repoRoot is the repository, two levels up from this package.
const repoRoot = "../.."

// TestFuncHostBuildServesTheFunctionKServiceNames runs `make func-build`
// (func build --builder host) on a copy of the repository, takes the
// linux/amd64 binary out of the OCI layout func wrote, and runs it as a
// Knative Service would: K_SERVICE names the function, nothing else does.
// It takes a few minutes (func builds three platforms).
func TestFuncHostBuildServesTheFunctionKServiceNames(t *testing.T) {
	if _, err := exec.LookPath("func"); err != nil {
		t.Skip("no func binary on PATH (CI puts the Knative Functions CLI there)")
	}
	if testing.Short() {
		t.Skip("-short: the func build takes minutes")
	}
	t.Parallel()
	copyDir := copyRepository(t)
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Minute)
	defer cancel()
	build := exec.CommandContext(ctx, "make", "func-build", "FUNC_REGISTRY=example.com/knshop")
	build.Dir = copyDir
	// func keeps its own settings under XDG_CONFIG_HOME; the test's stay
	// out of the user's.
	build.Env = append(os.Environ(), "XDG_CONFIG_HOME="+t.TempDir(), "FUNC_VERBOSE=false")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("make func-build: %v\n%s", err, tail(out, 4000))
	}

	bin := filepath.Join(t.TempDir(), "f")
	if err := extractBinary(filepath.Join(copyDir, ".func", "build", "oci"), "amd64", bin); err != nil {
		t.Fatal(err)
	}

	t.Run("K_SERVICE picks the function", func(t *testing.T) {
		db := storetest.MySQL(t, "funcbuild")
		addr := storetest.FreeAddr(t)
		proc := start(t, bin, "K_SERVICE=reconcile-orders", "LISTEN_ADDRESS="+addr, "MYSQL_DSN="+db.DSN,
			orderstore.DatabaseKey+"="+db.Database, fmt.Sprintf("KNSHOP_SERIALIZE_MYSQL=%t", db.Serialize),
			"K_SINK="+storetest.NewEventRecorder(t).URL(), "LOG_LEVEL=error")
		waitReady(t, "http://"+addr, proc)
		// reconcile-orders is an event function: a PingSource tick, as a
		// binary-mode CloudEvent, runs one reconcile pass (on an empty
		// database: nothing to do) and is answered 2xx.
		req, err := http.NewRequest(http.MethodPost, "http://"+addr+"/", strings.NewReader(`{}`))
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range map[string]string{"Ce-Specversion": "1.0", "Ce-Id": "tick-1", "Ce-Type": "dev.knative.sources.ping", "Ce-Source": "/apis/v1/namespaces/knshop/pingsources/reconcile-orders", "Content-Type": "application/json"} {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			t.Fatalf("tick = %d %q, want 2xx from reconcile-orders", resp.StatusCode, body)
		}
		// And a GET is the event runtime's 405 problem, not an HTTP
		// function's answer.
		resp, err = http.Get("http://" + addr + "/")
		if err != nil {
			t.Fatal(err)
		}
		body, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed || !strings.Contains(string(body), "CloudEvent") {
			t.Fatalf("GET / = %d %q, want the event function's 405 problem", resp.StatusCode, body)
		}
	})
	t.Run("an unknown name is refused", func(t *testing.T) {
		cmd := exec.CommandContext(ctx, bin)
		cmd.Env = []string{"K_SERVICE=no-such-function", "LISTEN_ADDRESS=" + storetest.FreeAddr(t)}
		out, err := cmd.CombinedOutput()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || !strings.Contains(string(out), "no function \"no-such-function\"") {
			t.Fatalf("binary with an unknown K_SERVICE: %v\n%s", err, out)
		}
	})
}

// copyRepository copies the repository's files (tracked and untracked, not
// ignored) into a temporary directory.
func copyRepository(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("git", "-C", repoRoot, "ls-files", "-z", "--cached", "--others", "--exclude-standard").Output()
	if err != nil {
		t.Skipf("git ls-files: %v (the test copies the repository's files)", err)
	}
	dst := t.TempDir()
	for _, rel := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		src := filepath.Join(repoRoot, rel)
		info, err := os.Lstat(src)
		if errors.Is(err, os.ErrNotExist) {
			continue // deleted in the work tree, not yet in the index
		}
		if err != nil {
			t.Fatal(err)
		}
		if !info.Mode().IsRegular() {
			continue
		}
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		target := filepath.Join(dst, rel)
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(target, data, info.Mode().Perm()); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// ociDescriptor is the part of an OCI descriptor the test reads.
type ociDescriptor struct {
	MediaType string `json:"mediaType"`
	Digest    string `json:"digest"`
	Platform  *struct {
		OS           string `json:"os"`
		Architecture string `json:"architecture"`
	} `json:"platform"`
}

// ociIndex is an OCI image index (index.json, or an index blob).
type ociIndex struct {
	Manifests []ociDescriptor `json:"manifests"`
}

// ociManifest is an OCI image manifest.
type ociManifest struct {
	Layers []ociDescriptor `json:"layers"`
}

// extractBinary finds the linux/arch image in the OCI layout and writes the
// function binary func put at /func/f to dst.
func extractBinary(layout, arch, dst string) error {
	blob := func(digest string) ([]byte, error) {
		return os.ReadFile(filepath.Join(layout, "blobs", strings.Replace(digest, ":", "/", 1)))
	}
	data, err := os.ReadFile(filepath.Join(layout, "index.json"))
	if err != nil {
		return err
	}
	manifests := []ociDescriptor{}
	var idx ociIndex
	if err := json.Unmarshal(data, &idx); err != nil {
		return fmt.Errorf("index.json: %w", err)
	}
	// index.json may list the images or point at one image index.
	for len(idx.Manifests) > 0 {
		d := idx.Manifests[0]
		idx.Manifests = idx.Manifests[1:]
		if strings.HasSuffix(d.MediaType, "image.index.v1+json") || strings.HasSuffix(d.MediaType, "manifest.list.v2+json") {
			b, err := blob(d.Digest)
			if err != nil {
				return err
			}
			var inner ociIndex
			if err := json.Unmarshal(b, &inner); err != nil {
				return fmt.Errorf("index %s: %w", d.Digest, err)
			}
			idx.Manifests = append(idx.Manifests, inner.Manifests...)
			continue
		}
		manifests = append(manifests, d)
	}
	for _, d := range manifests {
		if d.Platform == nil || d.Platform.OS != "linux" || d.Platform.Architecture != arch {
			continue
		}
		b, err := blob(d.Digest)
		if err != nil {
			return err
		}
		var m ociManifest
		if err := json.Unmarshal(b, &m); err != nil {
			return fmt.Errorf("manifest %s: %w", d.Digest, err)
		}
		for _, l := range m.Layers {
			found, err := fromLayer(filepath.Join(layout, "blobs", strings.Replace(l.Digest, ":", "/", 1)), "func/f", dst)
			if err != nil {
				return err
			}
			if found {
				return nil
			}
		}
		return fmt.Errorf("no /func/f in the linux/%s image's %d layers", arch, len(m.Layers))
	}
	return fmt.Errorf("no linux/%s image among %d in the layout", arch, len(manifests))
}

// fromLayer copies the file name from the gzipped tar layer at path to dst.
func fromLayer(path, name, dst string) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return false, fmt.Errorf("layer %s: %w", path, err)
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("layer %s: %w", path, err)
		}
		if strings.TrimPrefix(h.Name, "/") != name {
			continue
		}
		out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
		if err != nil {
			return false, err
		}
		if _, err := io.Copy(out, tr); err != nil {
			out.Close()
			return false, err
		}
		return true, out.Close()
	}
}

// start runs bin with exactly env and stops it when the test ends.
func start(t *testing.T, bin string, env ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(bin)
	cmd.Env = env
	var logs strings.Builder
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("function output:\n%s", logs.String())
		}
	})
	return cmd
}

// waitReady waits for the readiness route to answer 200.
func waitReady(t *testing.T, base string, proc *exec.Cmd) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(base + "/health/readiness")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if proc.ProcessState != nil || time.Now().After(deadline) {
			t.Fatalf("the built function did not become ready: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// tail is the last n bytes of b.
func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}
