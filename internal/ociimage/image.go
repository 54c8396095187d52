// Package ociimage builds the uid2-operator container image as a reproducible
// OCI image (go-containerregistry) without a Docker engine: the same binary
// and Spec give the same image digest on any machine, so the CCE policy and
// the enclave id computed from it survive a rebuild (issue 9).
//
// The image is scratch plus two layers:
//
//	base: /etc/passwd, /etc/group (uid and gid 1000), /etc/ssl/certs/ca-certificates.crt, /tmp (mode 1777)
//	app:  /app/uid2-operator (mode 0755)
//
// It runs as 1000:1000 with the exec-form entrypoint /app/uid2-operator and
// exposes 8080 (API) and 9080 (metrics). Every tar entry is root-owned with a
// fixed mode and Spec.Created as its mtime; entries are sorted; the tar is
// USTAR, so it carries no PAX access or change times. Layers are gzip at a
// fixed level with an empty gzip header. The digest therefore depends only on the Spec and on the
// compress/gzip of the Go toolchain that runs this package.
//
// Nothing here reads the clock, the environment or file metadata: callers
// pass bytes and a time (SOURCE_DATE_EPOCH or the commit time).
package ociimage

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Image facts that the manifest (deploy/aks/operator.yaml) and the CCE policy rely on.
const (
	BinaryPath = "/app/uid2-operator"
	WorkingDir = "/app"
	// User is the image's USER; operator.yaml pins runAsUser: 1000 (azure-aks.md §1.1).
	User = "1000:1000"
	// DefaultSource is the org.opencontainers.image.source label when Spec.Source is empty.
	DefaultSource = "https://github.com/uid2-private-operator/uid2-operator"
	// DefaultArchitecture is the only platform AKS virtual nodes (confidential ACI) run.
	DefaultArchitecture = "amd64"
	// Path is the PATH that container runtimes add when an image sets none;
	// setting it keeps the runtime environment equal to the image's.
	Path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	// gzipLevel is fixed so that the compressed layer digests are too.
	gzipLevel = gzip.BestCompression
)

// ExposedPorts are the image's EXPOSE entries: 8080 public API, 9080 Prometheus /metrics.
var ExposedPorts = []string{"8080/tcp", "9080/tcp"}

// MaxBinarySize bounds Spec.Binary; the stripped operator is about 20 MiB.
const MaxBinarySize = 512 << 20

// Spec is everything the image is made of. Two equal Specs give the same
// image digest.
type Spec struct {
	// Binary is the static executable installed at BinaryPath with mode 0755.
	// Its file mode and mtime on disk never reach the image.
	Binary []byte
	// CACerts is the PEM bundle at /etc/ssl/certs/ca-certificates.crt.
	// Nil means the pinned Mozilla bundle (CACertificates).
	CACerts []byte
	// Version goes into the org.opencontainers.image.version label and the
	// IMAGE_VERSION environment variable (the instance id's suffix).
	Version string
	// Revision is the source commit: the org.opencontainers.image.revision label.
	Revision string
	// Source is the org.opencontainers.image.source label; empty means DefaultSource.
	Source string
	// Created is every timestamp in the image (tar mtimes, config, history,
	// org.opencontainers.image.created), truncated to whole seconds, in UTC.
	Created time.Time
	// Architecture is the GOARCH of Binary; empty means DefaultArchitecture.
	Architecture string
}

// Errors returned by Image for an incomplete Spec.
var (
	ErrNoBinary  = errors.New("ociimage: Binary is empty")
	ErrNoCreated = errors.New("ociimage: Created is zero (set SOURCE_DATE_EPOCH or use the commit time)")
)

// Image returns the operator image described by spec. The image is held in
// memory; write it with WriteLayout or Push.
func Image(spec Spec) (v1.Image, error) {
	spec, err := spec.withDefaults()
	if err != nil {
		return nil, err
	}
	baseTar, err := TarLayer(spec.baseEntries(), spec.Created)
	if err != nil {
		return nil, fmt.Errorf("base layer: %w", err)
	}
	appTar, err := TarLayer(spec.appEntries(), spec.Created)
	if err != nil {
		return nil, fmt.Errorf("app layer: %w", err)
	}
	created := v1.Time{Time: spec.Created}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	var adds []mutate.Addendum
	for _, l := range []struct {
		tar []byte
		by  string
	}{
		{baseTar, "uid2-release: /etc/passwd /etc/group /etc/ssl/certs/ca-certificates.crt /tmp"},
		{appTar, "uid2-release: " + BinaryPath},
	} {
		layer, err := gzipLayer(l.tar)
		if err != nil {
			return nil, err
		}
		adds = append(adds, mutate.Addendum{
			Layer:     layer,
			MediaType: types.OCILayer,
			History:   v1.History{Created: created, CreatedBy: l.by},
		})
	}
	img, err = mutate.Append(img, adds...)
	if err != nil {
		return nil, fmt.Errorf("append layers: %w", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.Created = created
	cf.OS = "linux"
	cf.Architecture = spec.Architecture
	cf.Config = spec.config()
	return mutate.ConfigFile(img, cf)
}

func (s Spec) withDefaults() (Spec, error) {
	if len(s.Binary) == 0 {
		return s, ErrNoBinary
	}
	if len(s.Binary) > MaxBinarySize {
		return s, fmt.Errorf("ociimage: Binary is %d bytes; at most %d", len(s.Binary), MaxBinarySize)
	}
	if s.Created.IsZero() {
		return s, ErrNoCreated
	}
	if s.Created.Unix() < 0 {
		return s, fmt.Errorf("ociimage: Created %s is before 1970", s.Created)
	}
	for _, f := range []struct {
		name, value string
		required    bool
	}{
		{"Version", s.Version, true}, {"Revision", s.Revision, true},
		{"Source", s.Source, false}, {"Architecture", s.Architecture, false},
	} {
		if f.required && f.value == "" {
			return s, fmt.Errorf("ociimage: %s is empty", f.name)
		}
		if strings.ContainsFunc(f.value, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
			return s, fmt.Errorf("ociimage: %s %q contains a space or control character", f.name, f.value)
		}
	}
	if s.CACerts == nil {
		s.CACerts = CACertificates()
	}
	if s.Source == "" {
		s.Source = DefaultSource
	}
	if s.Architecture == "" {
		s.Architecture = DefaultArchitecture
	}
	s.Created = time.Unix(s.Created.Unix(), 0).UTC()
	return s, nil
}

func (s Spec) config() v1.Config {
	ports := make(map[string]struct{}, len(ExposedPorts))
	for _, p := range ExposedPorts {
		ports[p] = struct{}{}
	}
	return v1.Config{
		User:         User,
		Entrypoint:   []string{BinaryPath},
		WorkingDir:   WorkingDir,
		ExposedPorts: ports,
		Env:          []string{"PATH=" + Path, "IMAGE_VERSION=" + s.Version},
		Labels: map[string]string{
			"org.opencontainers.image.title":       "uid2-operator",
			"org.opencontainers.image.description": "UID2 private operator (Go) for Azure confidential containers on AKS virtual nodes",
			"org.opencontainers.image.version":     s.Version,
			"org.opencontainers.image.revision":    s.Revision,
			"org.opencontainers.image.source":      s.Source,
			"org.opencontainers.image.created":     s.Created.Format(time.RFC3339),
		},
	}
}

// Passwd and Group are the image's /etc/passwd and /etc/group. They name
// uid/gid 1000 so that tools (and podman --user) can resolve the image's
// user; the home directory is the read-only /app.
const (
	Passwd = "root:x:0:0:root:/root:/sbin/nologin\nuid2-operator:x:1000:1000:uid2-operator:/app:/sbin/nologin\n"
	Group  = "root:x:0:\nuid2-operator:x:1000:\n"
)

func (s Spec) baseEntries() []Entry {
	return []Entry{
		{Name: "etc/", Mode: 0o755},
		{Name: "etc/group", Mode: 0o644, Data: []byte(Group)},
		{Name: "etc/passwd", Mode: 0o644, Data: []byte(Passwd)},
		{Name: "etc/ssl/", Mode: 0o755},
		{Name: "etc/ssl/certs/", Mode: 0o755},
		{Name: "etc/ssl/certs/ca-certificates.crt", Mode: 0o644, Data: s.CACerts},
		// Sticky and world-writable, as on any Linux /tmp, so uid 1000 can
		// write there (a Dockerfile `COPY dir /tmp` once made it 0755 root).
		{Name: "tmp/", Mode: 0o1777},
	}
}

func (s Spec) appEntries() []Entry {
	return []Entry{
		{Name: "app/", Mode: 0o755},
		{Name: strings.TrimPrefix(BinaryPath, "/"), Mode: 0o755, Data: s.Binary},
	}
}

// Entry is one file or directory of a layer. A Name ending in "/" is a
// directory (Data must be empty); anything else is a regular file.
type Entry struct {
	Name string
	Mode int64 // permission bits plus setuid/setgid/sticky (0o1777 for /tmp)
	Data []byte
}

// TarLayer returns the uncompressed tar of entries: sorted by name, owned by
// 0:0 with no user or group names, mtime mtime (whole seconds), USTAR format
// (no PAX records, no access or change times). Equal inputs give equal bytes.
func TarLayer(entries []Entry, mtime time.Time) ([]byte, error) {
	sorted := append([]Entry(nil), entries...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	mtime = time.Unix(mtime.Unix(), 0)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for i, e := range sorted {
		if i > 0 && sorted[i-1].Name == e.Name {
			return nil, fmt.Errorf("tar: duplicate entry %q", e.Name)
		}
		if clean := path.Clean(e.Name); clean != strings.TrimSuffix(e.Name, "/") || clean == "." ||
			strings.HasPrefix(clean, "/") || clean == ".." || strings.HasPrefix(clean, "../") {
			return nil, fmt.Errorf("tar: entry name %q must be relative and clean", e.Name)
		}
		if e.Mode&^0o7777 != 0 {
			return nil, fmt.Errorf("tar: entry %q: mode %o has bits beyond 07777", e.Name, e.Mode)
		}
		hdr := &tar.Header{
			Name:    e.Name,
			Mode:    e.Mode,
			ModTime: mtime,
			Format:  tar.FormatUSTAR,
		}
		if strings.HasSuffix(e.Name, "/") {
			if len(e.Data) != 0 {
				return nil, fmt.Errorf("tar: directory %q has data", e.Name)
			}
			hdr.Typeflag = tar.TypeDir
		} else {
			hdr.Typeflag = tar.TypeReg
			hdr.Size = int64(len(e.Data))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, fmt.Errorf("tar: %s: %w", e.Name, err)
		}
		if _, err := tw.Write(e.Data); err != nil {
			return nil, fmt.Errorf("tar: %s: %w", e.Name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("tar: %w", err)
	}
	return buf.Bytes(), nil
}

// gzipLayer returns the layer whose uncompressed form is tarBytes, gzipped
// once at gzipLevel with an empty gzip header (no name, no mtime).
func gzipLayer(tarBytes []byte) (v1.Layer, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzipLevel)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(tarBytes); err != nil {
		return nil, fmt.Errorf("gzip: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("gzip: %w", err)
	}
	return &memLayer{tar: tarBytes, gz: buf.Bytes(), diffID: sha256Hash(tarBytes), digest: sha256Hash(buf.Bytes())}, nil
}

// memLayer is a gzip layer held in memory. (tarball.LayerFromOpener would
// gzip again on every read and reports empty annotations that the
// serialized manifest drops, which validate.Image flags.)
type memLayer struct {
	tar, gz        []byte
	diffID, digest v1.Hash
}

func (l *memLayer) Digest() (v1.Hash, error)            { return l.digest, nil }
func (l *memLayer) DiffID() (v1.Hash, error)            { return l.diffID, nil }
func (l *memLayer) Size() (int64, error)                { return int64(len(l.gz)), nil }
func (l *memLayer) MediaType() (types.MediaType, error) { return types.OCILayer, nil }
func (l *memLayer) Compressed() (io.ReadCloser, error) {
	return io.NopCloser(bytes.NewReader(l.gz)), nil
}
func (l *memLayer) Uncompressed() (io.ReadCloser, error) {
	return io.NopCloser(bytes.NewReader(l.tar)), nil
}

func sha256Hash(b []byte) v1.Hash {
	sum := sha256.Sum256(b)
	return v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(sum[:])}
}
