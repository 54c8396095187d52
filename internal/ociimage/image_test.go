package ociimage_test

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/uid2-private-operator/uid2-operator/internal/ociimage"
)

var created = time.Date(2026, 12, 1, 10, 30, 0, 0, time.UTC)

func testSpec() ociimage.Spec {
	return ociimage.Spec{
		Binary:   []byte("\x7fELF stand-in for the static operator binary"),
		Version:  "1.2.3-test",
		Revision: "0123456789abcdef0123456789abcdef01234567",
		Created:  created,
	}
}

func mustImage(t *testing.T, spec ociimage.Spec) v1.Image {
	t.Helper()
	img, err := ociimage.Image(spec)
	if err != nil {
		t.Fatalf("Image: %v", err)
	}
	return img
}

func digest(t *testing.T, img v1.Image) string {
	t.Helper()
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}

// Known answers for testSpec. The diff ids are the uncompressed tars, which
// only this package's tar writer decides; the image digest also depends on
// compress/gzip, so a Go upgrade that changes gzip output changes it (and
// with it every CCE policy): this test is where that shows up first.
const (
	wantBaseDiffID = "sha256:33dfdb14748b0dec0c36273d0bcd13092e1371aee42d70dfb79f5d134dbdc08c"
	wantAppDiffID  = "sha256:f0370f2188c8e3c13893e21b3c731e8adbaf950cdd556bc903627cdf0ffc5ebe"
	wantDigest     = "sha256:bb3ffe99534951a8e6231e5f2186e18f36cea83f1eee933be9e17b21a5d2d731"
)

func TestImageKnownAnswer(t *testing.T) {
	img := mustImage(t, testSpec())
	if err := validate.Image(img); err != nil {
		t.Fatalf("validate.Image: %v", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range cf.RootFS.DiffIDs {
		got = append(got, d.String())
	}
	if want := []string{wantBaseDiffID, wantAppDiffID}; !slices.Equal(got, want) {
		t.Errorf("diff ids = %v; want %v", got, want)
	}
	if got := digest(t, img); got != wantDigest {
		t.Errorf("digest = %s; want %s", got, wantDigest)
	}
}

// The property: a rebuild from another clone gives the same digest.
// The binary reaches Image as bytes read from a file whose mode and mtime
// depend on the umask and the clock, and Created may come in any zone or
// with a fraction of a second; none of that may reach the image.
func TestImageIgnoresFileMetadataAndTimeZone(t *testing.T) {
	dir := t.TempDir()
	spec := testSpec()
	var digests, layers []string
	for i, c := range []struct {
		mode    os.FileMode
		mtime   time.Time
		created time.Time
	}{
		{0o755, time.Unix(0, 0), created},
		{0o700, time.Now(), created.In(time.FixedZone("UTC+13", 13*3600)).Add(999 * time.Millisecond)},
		{0o555, time.Date(2001, 2, 3, 4, 5, 6, 7, time.Local), created.Local()},
	} {
		path := filepath.Join(dir, "bin"+string(rune('a'+i)))
		if err := os.WriteFile(path, spec.Binary, c.mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, c.mode); err != nil { // WriteFile honours the umask
			t.Fatal(err)
		}
		if err := os.Chtimes(path, c.mtime, c.mtime); err != nil {
			t.Fatal(err)
		}
		bin, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		s := spec
		s.Binary, s.Created = bin, c.created
		img := mustImage(t, s)
		digests = append(digests, digest(t, img))
		ls, err := img.Layers()
		if err != nil {
			t.Fatal(err)
		}
		var all []byte
		for _, l := range ls {
			rc, err := l.Compressed()
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(rc)
			rc.Close()
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, b...)
		}
		sum := sha256.Sum256(all)
		layers = append(layers, hex.EncodeToString(sum[:]))
	}
	for i := 1; i < len(digests); i++ {
		if digests[i] != digests[0] {
			t.Errorf("build %d digest %s; build 0 %s", i, digests[i], digests[0])
		}
		if layers[i] != layers[0] {
			t.Errorf("build %d layer bytes sha256 %s; build 0 %s", i, layers[i], layers[0])
		}
	}
}

// Every input of the Spec must change the digest, or the enclave id would not
// pin what runs.
func TestImageDigestCoversSpec(t *testing.T) {
	base := digest(t, mustImage(t, testSpec()))
	for _, tc := range []struct {
		name string
		edit func(*ociimage.Spec)
	}{
		{"binary", func(s *ociimage.Spec) { s.Binary = append(slices.Clone(s.Binary), 0) }},
		{"ca certs", func(s *ociimage.Spec) { s.CACerts = []byte("other") }},
		{"version", func(s *ociimage.Spec) { s.Version = "1.2.4" }},
		{"revision", func(s *ociimage.Spec) { s.Revision = "fedcba" }},
		{"source", func(s *ociimage.Spec) { s.Source = "https://example.com/fork" }},
		{"created", func(s *ociimage.Spec) { s.Created = s.Created.Add(time.Second) }},
		{"architecture", func(s *ociimage.Spec) { s.Architecture = "arm64" }},
	} {
		s := testSpec()
		tc.edit(&s)
		if got := digest(t, mustImage(t, s)); got == base {
			t.Errorf("changing %s left the digest at %s", tc.name, got)
		}
	}
}

type tarEntry struct {
	hdr  *tar.Header
	data []byte
}

func readLayer(t *testing.T, l v1.Layer) []tarEntry {
	t.Helper()
	mt, err := l.MediaType()
	if err != nil || mt != types.OCILayer {
		t.Errorf("layer media type = %q, %v; want %q", mt, err, types.OCILayer)
	}
	rc, err := l.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	var out []tarEntry
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, tarEntry{hdr, data})
	}
}

func TestImageLayers(t *testing.T) {
	spec := testSpec()
	ls, err := mustImage(t, spec).Layers()
	if err != nil {
		t.Fatal(err)
	}
	if len(ls) != 2 {
		t.Fatalf("%d layers; want 2 (base, app)", len(ls))
	}
	type want struct {
		name string
		typ  byte
		mode int64
		data string
	}
	wants := [][]want{{
		{"etc/", tar.TypeDir, 0o755, ""},
		{"etc/group", tar.TypeReg, 0o644, "root:x:0:\nuid2-operator:x:1000:\n"},
		{"etc/passwd", tar.TypeReg, 0o644, "root:x:0:0:root:/root:/sbin/nologin\nuid2-operator:x:1000:1000:uid2-operator:/app:/sbin/nologin\n"},
		{"etc/ssl/", tar.TypeDir, 0o755, ""},
		{"etc/ssl/certs/", tar.TypeDir, 0o755, ""},
		{"etc/ssl/certs/ca-certificates.crt", tar.TypeReg, 0o644, string(ociimage.CACertificates())},
		{"tmp/", tar.TypeDir, 0o1777, ""},
	}, {
		{"app/", tar.TypeDir, 0o755, ""},
		{"app/uid2-operator", tar.TypeReg, 0o755, string(spec.Binary)},
	}}
	for i, l := range ls {
		got := readLayer(t, l)
		if len(got) != len(wants[i]) {
			t.Fatalf("layer %d has %d entries; want %d", i, len(got), len(wants[i]))
		}
		for j, w := range wants[i] {
			h := got[j].hdr
			if h.Name != w.name || h.Typeflag != w.typ || h.Mode != w.mode || string(got[j].data) != w.data {
				t.Errorf("layer %d entry %d = %q type %c mode %o (%d bytes); want %q type %c mode %o (%d bytes)",
					i, j, h.Name, h.Typeflag, h.Mode, len(got[j].data), w.name, w.typ, w.mode, len(w.data))
			}
			if h.Uid != 0 || h.Gid != 0 || h.Uname != "" || h.Gname != "" {
				t.Errorf("%s owner %d:%d (%q:%q); want 0:0 with no names", h.Name, h.Uid, h.Gid, h.Uname, h.Gname)
			}
			if !h.ModTime.Equal(created) || !h.AccessTime.IsZero() || !h.ChangeTime.IsZero() {
				t.Errorf("%s times m=%v a=%v c=%v; want m=%v only", h.Name, h.ModTime, h.AccessTime, h.ChangeTime, created)
			}
			if h.Format != tar.FormatUSTAR || len(h.PAXRecords) != 0 {
				t.Errorf("%s format %v, PAX %v; want USTAR without PAX records", h.Name, h.Format, h.PAXRecords)
			}
		}
	}
}

func TestImageConfig(t *testing.T) {
	img := mustImage(t, testSpec())
	mt, err := img.MediaType()
	if err != nil || mt != types.OCIManifestSchema1 {
		t.Errorf("manifest media type = %q, %v; want %q", mt, err, types.OCIManifestSchema1)
	}
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	if m.Config.MediaType != types.OCIConfigJSON {
		t.Errorf("config media type = %q; want %q", m.Config.MediaType, types.OCIConfigJSON)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	c := cf.Config
	if cf.OS != "linux" || cf.Architecture != "amd64" || !cf.Created.Time.Equal(created) {
		t.Errorf("platform %s/%s created %v; want linux/amd64 %v", cf.OS, cf.Architecture, cf.Created.Time, created)
	}
	if c.User != "1000:1000" || c.WorkingDir != "/app" || !slices.Equal(c.Entrypoint, []string{"/app/uid2-operator"}) || c.Cmd != nil {
		t.Errorf("user %q workdir %q entrypoint %q cmd %q; want 1000:1000 /app [/app/uid2-operator] none",
			c.User, c.WorkingDir, c.Entrypoint, c.Cmd)
	}
	var ports []string
	for p := range c.ExposedPorts {
		ports = append(ports, p)
	}
	slices.Sort(ports)
	if want := []string{"8080/tcp", "9080/tcp"}; !slices.Equal(ports, want) {
		t.Errorf("exposed ports %v; want %v", ports, want)
	}
	if want := []string{"PATH=" + ociimage.Path, "IMAGE_VERSION=1.2.3-test"}; !slices.Equal(c.Env, want) {
		t.Errorf("env %q; want %q", c.Env, want)
	}
	for k, want := range map[string]string{
		"org.opencontainers.image.version":  "1.2.3-test",
		"org.opencontainers.image.revision": "0123456789abcdef0123456789abcdef01234567",
		"org.opencontainers.image.source":   ociimage.DefaultSource,
		"org.opencontainers.image.created":  "2026-12-01T10:30:00Z",
		"org.opencontainers.image.title":    "uid2-operator",
	} {
		if got := c.Labels[k]; got != want {
			t.Errorf("label %s = %q; want %q", k, got, want)
		}
	}
	if len(cf.History) != 2 {
		t.Fatalf("%d history entries; want 2", len(cf.History))
	}
	for _, h := range cf.History {
		if !h.Created.Time.Equal(created) {
			t.Errorf("history %q created %v; want %v", h.CreatedBy, h.Created.Time, created)
		}
	}
}

func TestImageRejectsIncompleteSpec(t *testing.T) {
	for _, tc := range []struct {
		name    string
		edit    func(*ociimage.Spec)
		wantErr error
		wantMsg string
	}{
		{"no binary", func(s *ociimage.Spec) { s.Binary = nil }, ociimage.ErrNoBinary, ""},
		{"no time", func(s *ociimage.Spec) { s.Created = time.Time{} }, ociimage.ErrNoCreated, ""},
		{"before 1970", func(s *ociimage.Spec) { s.Created = time.Unix(-1, 0) }, nil, "before 1970"},
		{"no version", func(s *ociimage.Spec) { s.Version = "" }, nil, "Version is empty"},
		{"no revision", func(s *ociimage.Spec) { s.Revision = "" }, nil, "Revision is empty"},
		{"newline in version", func(s *ociimage.Spec) { s.Version = "1\nX=y" }, nil, "Version \"1\\nX=y\" contains"},
		{"space in source", func(s *ociimage.Spec) { s.Source = "a b" }, nil, "Source \"a b\" contains"},
	} {
		s := testSpec()
		tc.edit(&s)
		_, err := ociimage.Image(s)
		switch {
		case err == nil:
			t.Errorf("%s: Image succeeded; want an error", tc.name)
		case tc.wantErr != nil && !errors.Is(err, tc.wantErr):
			t.Errorf("%s: Image = %v; want %v", tc.name, err, tc.wantErr)
		case !strings.Contains(err.Error(), tc.wantMsg):
			t.Errorf("%s: Image = %v; want it to contain %q", tc.name, err, tc.wantMsg)
		}
	}
}

func TestTarLayerRejectsBadEntries(t *testing.T) {
	for _, tc := range []struct {
		name    string
		entries []ociimage.Entry
		wantMsg string
	}{
		{"duplicate", []ociimage.Entry{{Name: "a", Mode: 0o644}, {Name: "a", Mode: 0o644}}, `duplicate entry "a"`},
		{"absolute", []ociimage.Entry{{Name: "/etc/passwd", Mode: 0o644}}, "must be relative and clean"},
		{"parent", []ociimage.Entry{{Name: "../x", Mode: 0o644}}, "must be relative and clean"},
		{"unclean", []ociimage.Entry{{Name: "a//b", Mode: 0o644}}, "must be relative and clean"},
		{"empty", []ociimage.Entry{{Name: "", Mode: 0o644}}, "must be relative and clean"},
		{"dir with data", []ociimage.Entry{{Name: "d/", Mode: 0o755, Data: []byte("x")}}, `directory "d/" has data`},
		{"file type bits", []ociimage.Entry{{Name: "a", Mode: 0o100644}}, "bits beyond 07777"},
	} {
		_, err := ociimage.TarLayer(tc.entries, created)
		if err == nil || !strings.Contains(err.Error(), tc.wantMsg) {
			t.Errorf("%s: TarLayer = %v; want an error containing %q", tc.name, err, tc.wantMsg)
		}
	}
}

func TestTarLayerSortsEntries(t *testing.T) {
	a, err := ociimage.TarLayer([]ociimage.Entry{{Name: "b", Mode: 0o644}, {Name: "a/", Mode: 0o755}, {Name: "a/x", Mode: 0o600}}, created)
	if err != nil {
		t.Fatal(err)
	}
	b, err := ociimage.TarLayer([]ociimage.Entry{{Name: "a/x", Mode: 0o600}, {Name: "b", Mode: 0o644}, {Name: "a/", Mode: 0o755}}, created)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Error("TarLayer output depends on the order of its entries")
	}
}

func TestCACertificatesPinned(t *testing.T) {
	bundle := ociimage.CACertificates()
	sum := sha256.Sum256(bundle)
	if got := hex.EncodeToString(sum[:]); got != ociimage.CACertificatesSHA256 {
		t.Errorf("embedded bundle sha256 %s; CACertificatesSHA256 says %s", got, ociimage.CACertificatesSHA256)
	}
	n := 0
	for rest := bundle; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			if len(bytes.TrimSpace(rest)) != 0 {
				t.Errorf("bundle has %d bytes that are not PEM", len(rest))
			}
			break
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			t.Fatalf("certificate %d: %v", n, err)
		}
		if !cert.IsCA {
			t.Errorf("certificate %d (%s) is not a CA", n, cert.Subject)
		}
		n++
	}
	if n != 142 {
		t.Errorf("bundle holds %d certificates; want the 142 Mozilla roots", n)
	}
	bundle[0] = 'X'
	if ociimage.CACertificates()[0] == 'X' {
		t.Error("CACertificates returned the embedded slice itself; callers could change every later image")
	}
}
