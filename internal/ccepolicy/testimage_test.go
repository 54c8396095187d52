package ccepolicy_test

import (
	"archive/tar"
	"bytes"
	"io"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// file is one entry of a test layer.
type file struct {
	name string
	mode int64
	body string // empty with a trailing "/" name: a directory
}

var epoch = time.Unix(1700000000, 0).UTC()

// layerTar writes files as an uncompressed tar with fixed times and owners.
func layerTar(t *testing.T, files []file) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		h := &tar.Header{Name: f.name, Mode: f.mode, ModTime: epoch, Uid: 0, Gid: 0, Format: tar.FormatPAX}
		if f.name[len(f.name)-1] == '/' {
			h.Typeflag = tar.TypeDir
		} else {
			h.Typeflag = tar.TypeReg
			h.Size = int64(len(f.body))
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(tw, f.body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func layer(t *testing.T, files []file) v1.Layer {
	t.Helper()
	b := layerTar(t, files)
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil })
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// operatorImage is a two-layer stand-in for the operator image: a base
// layer (passwd, /tmp) and a binary whose bytes depend on build.
func operatorImage(t *testing.T, build string) v1.Image {
	t.Helper()
	base := layer(t, []file{
		{"etc/", 0o755, ""},
		{"etc/passwd", 0o644, "root:x:0:0:root:/:/sbin/nologin\nuid2:x:1000:1000::/app:/sbin/nologin\n"},
		{"tmp/", 0o1777, ""},
	})
	bin := layer(t, []file{
		{"app/", 0o755, ""},
		{"app/uid2-operator", 0o755, "\x7fELF stand-in operator binary, build " + build},
	})
	img, err := mutate.AppendLayers(empty.Image, base, bin)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	cf.Config.Entrypoint = []string{"/app/uid2-operator"}
	cf.Config.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "IMAGE_VERSION=1.2.3-" + build}
	cf.Config.WorkingDir = "/app"
	cf.Config.User = "1000:1000"
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// sidecarImage stands in for mcr.microsoft.com/aci/skr.
func sidecarImage(t *testing.T) v1.Image {
	t.Helper()
	l := layer(t, []file{{"skr.sh", 0o755, "#!/bin/sh\nexec /bin/skr -port \"$Port\"\n"}, {"bin/", 0o755, ""}, {"bin/skr", 0o755, "skr stand-in"}})
	img, err := mutate.AppendLayers(empty.Image, l)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	cf.Config.Cmd = []string{"/skr.sh"}
	cf.Config.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}
