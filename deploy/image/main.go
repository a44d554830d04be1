// Command image builds knshop's container image without Docker and
// without pulling a base image: one layer holding the static cmd/fn binary
// (and the CA bundle it needs to call HTTPS APIs), on an empty base, run as
// user 65532. It writes an OCI image layout and, optionally, a tarball that
// `docker load` or `kind load image-archive` accept, and can push the image
// to a registry, printing the pushed reference by digest.
//
//	go run ./deploy/image -binary .build/fn -layout .build/image [-tarball .build/image.tar] [-push repo/fn:tag]
package main

import (
	"archive/tar"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Paths and identity inside the image.
const (
	binaryPath   = "fn"
	caBundlePath = "etc/ssl/certs/ca-certificates.crt"
	user         = "65532:65532"
	refName      = "knshop"
)

// ErrNoBinary is returned when there is no binary to put in the image.
var ErrNoBinary = errors.New("image: no binary")

// Spec is what goes into the image.
type Spec struct {
	Binary   []byte // the static cmd/fn executable
	CABundle []byte // PEM root certificates; may be empty
	Arch     string // GOARCH of the binary
}

// Build assembles the image: one reproducible layer (fixed timestamps,
// root-owned read-only files) on an empty base, OCI media types.
func Build(s Spec) (v1.Image, error) {
	if len(s.Binary) == 0 {
		return nil, ErrNoBinary
	}
	layerTar, err := layerTarball(s)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, fmt.Errorf("image: layer: %w", err)
	}
	base := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	img, err := mutate.Append(base, mutate.Addendum{
		Layer:     layer,
		MediaType: types.OCILayer,
		History:   v1.History{CreatedBy: "knshop deploy/image: static cmd/fn", Created: v1.Time{Time: epoch}},
	})
	if err != nil {
		return nil, fmt.Errorf("image: append layer: %w", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("image: config: %w", err)
	}
	cf = cf.DeepCopy()
	cf.OS = "linux"
	cf.Architecture = s.Arch
	cf.Created = v1.Time{Time: epoch}
	cf.Config.Entrypoint = []string{"/" + binaryPath}
	cf.Config.User = user
	cf.Config.WorkingDir = "/"
	cf.Config.Env = []string{"LISTEN_ADDRESS=:8080"}
	cf.Config.ExposedPorts = map[string]struct{}{"8080/tcp": {}}
	cf.Config.Labels = map[string]string{
		"org.opencontainers.image.title":       "knshop",
		"org.opencontainers.image.description": "knshop functions; FUNCTION selects which one this container serves",
	}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return nil, fmt.Errorf("image: set config: %w", err)
	}
	return img, nil
}

// epoch is the timestamp of every file and of the image, so the same
// binary always gives the same digest.
var epoch = time.Unix(0, 0).UTC()

// layerTarball writes the layer's files as an uncompressed tar.
func layerTarball(s Spec) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dirs := []string{"etc/", "etc/ssl/", "etc/ssl/certs/", "tmp/"}
	for _, d := range dirs {
		mode := int64(0o755)
		if d == "tmp/" {
			mode = 0o1777
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d, Mode: mode, ModTime: epoch, Format: tar.FormatPAX}); err != nil {
			return nil, fmt.Errorf("image: tar %s: %w", d, err)
		}
	}
	files := []struct {
		name string
		mode int64
		data []byte
	}{
		{binaryPath, 0o555, s.Binary},
		{caBundlePath, 0o444, s.CABundle},
		{"etc/passwd", 0o444, []byte("root:x:0:0:root:/:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/:/sbin/nologin\n")},
		{"etc/group", 0o444, []byte("root:x:0:\nnonroot:x:65532:\n")},
	}
	for _, f := range files {
		if f.data == nil {
			continue
		}
		h := &tar.Header{Typeflag: tar.TypeReg, Name: f.name, Mode: f.mode, Size: int64(len(f.data)), ModTime: epoch, Format: tar.FormatPAX}
		if err := tw.WriteHeader(h); err != nil {
			return nil, fmt.Errorf("image: tar %s: %w", f.name, err)
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, fmt.Errorf("image: tar %s: %w", f.name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("image: tar: %w", err)
	}
	return buf.Bytes(), nil
}

// WriteLayout replaces dir with an OCI image layout holding img.
func WriteLayout(dir string, img v1.Image) error {
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("image: clear layout: %w", err)
	}
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return fmt.Errorf("image: layout: %w", err)
	}
	if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": refName})); err != nil {
		return fmt.Errorf("image: layout: %w", err)
	}
	return nil
}

// WriteTarball writes img as a tarball tagged tag (docker load format).
func WriteTarball(path, tag string, img v1.Image) error {
	ref, err := name.NewTag(tag)
	if err != nil {
		return fmt.Errorf("image: tag %q: %w", tag, err)
	}
	if err := tarball.WriteToFile(path, ref, img); err != nil {
		return fmt.Errorf("image: tarball: %w", err)
	}
	return nil
}

// Push uploads img to the registry as tag and returns the pushed
// repository@digest reference, the form a Knative Service should run.
func Push(tag string, img v1.Image) (string, error) {
	ref, err := name.NewTag(tag)
	if err != nil {
		return "", fmt.Errorf("image: tag %q: %w", tag, err)
	}
	if err := remote.Write(ref, img, remote.WithAuthFromKeychain(authn.DefaultKeychain)); err != nil {
		return "", fmt.Errorf("image: push %s: %w", ref, err)
	}
	d, err := img.Digest()
	if err != nil {
		return "", fmt.Errorf("image: digest: %w", err)
	}
	return ref.Context().Digest(d.String()).String(), nil
}

// options are the command-line flags.
type options struct {
	binary, caBundle, layoutDir, tarballPath, tag, push, arch string
}

func main() {
	var o options
	flag.StringVar(&o.binary, "binary", "", "static cmd/fn binary to package (required)")
	flag.StringVar(&o.caBundle, "ca-bundle", "/etc/ssl/certs/ca-certificates.crt", "PEM root certificates to include; skipped when missing")
	flag.StringVar(&o.layoutDir, "layout", ".build/image", "OCI image layout directory to write; empty to skip")
	flag.StringVar(&o.tarballPath, "tarball", "", "docker-load tarball to write; empty to skip")
	flag.StringVar(&o.tag, "tag", "knshop/fn:latest", "tag recorded in the tarball")
	flag.StringVar(&o.push, "push", "", "registry tag to push to, e.g. ghcr.io/me/knshop/fn:v1; prints repo@digest")
	flag.StringVar(&o.arch, "arch", runtime.GOARCH, "GOARCH the binary was built for")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(o, os.Stdout, log); err != nil {
		log.Error("image: failed", "error", err)
		os.Exit(1)
	}
}

// run builds the image and writes it wherever o says.
func run(o options, stdout io.Writer, log *slog.Logger) error {
	if o.binary == "" {
		return ErrNoBinary
	}
	bin, err := os.ReadFile(o.binary)
	if err != nil {
		return fmt.Errorf("image: read binary: %w", err)
	}
	ca, err := os.ReadFile(o.caBundle)
	if err != nil {
		log.Warn("no CA bundle: HTTPS calls from the image will fail", "path", o.caBundle, "error", err)
		ca = nil
	}
	img, err := Build(Spec{Binary: bin, CABundle: ca, Arch: o.arch})
	if err != nil {
		return err
	}
	size, err := compressedSize(img)
	if err != nil {
		return err
	}
	d, err := img.Digest()
	if err != nil {
		return fmt.Errorf("image: digest: %w", err)
	}
	log.Info("image built", "digest", d.String(), "binary_bytes", len(bin), "compressed_bytes", size)
	if o.layoutDir != "" {
		if err := WriteLayout(o.layoutDir, img); err != nil {
			return err
		}
		log.Info("wrote OCI layout", "dir", o.layoutDir)
	}
	if o.tarballPath != "" {
		if err := WriteTarball(o.tarballPath, o.tag, img); err != nil {
			return err
		}
		log.Info("wrote tarball", "path", o.tarballPath, "tag", o.tag)
	}
	if o.push != "" {
		ref, err := Push(o.push, img)
		if err != nil {
			return err
		}
		if _, err := fmt.Fprintln(stdout, ref); err != nil {
			return fmt.Errorf("image: print reference: %w", err)
		}
	}
	return nil
}

// compressedSize is what a node pulls: manifest, config and layers.
func compressedSize(img v1.Image) (int64, error) {
	m, err := img.Manifest()
	if err != nil {
		return 0, fmt.Errorf("image: manifest: %w", err)
	}
	total := m.Config.Size
	for _, l := range m.Layers {
		total += l.Size
	}
	return total, nil
}
