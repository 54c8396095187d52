package ccepolicy_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/Microsoft/hcsshim/ext4/dmverity"
	"github.com/Microsoft/hcsshim/ext4/tar2ext4"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/uid2-private-operator/uid2-operator/internal/ccepolicy"
)

var hexHash = regexp.MustCompile(`^[0-9a-f]{64}$`)

// The root hash must be the one the guest reads from the dm-verity
// superblock hcsshim appends to a layer VHD (tar2ext4 with AppendDMVerity):
// a second code path of hcsshim, the one that builds the device the guest
// mounts.
func TestLayerRootHashMatchesVerityDevice(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files []file
	}{
		{"passwd and tmp", []file{{"etc/", 0o755, ""}, {"etc/passwd", 0o644, "uid2:x:1000:1000::/app:/sbin/nologin\n"}, {"tmp/", 0o1777, ""}}},
		{"binary", []file{{"app/", 0o755, ""}, {"app/uid2-operator", 0o755, strings.Repeat("operator", 4096)}}},
		{"whiteout", []file{{"etc/", 0o755, ""}, {"etc/.wh.old.conf", 0o644, ""}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tarBytes := layerTar(t, tc.files)
			got, err := ccepolicy.LayerRootHash(bytes.NewReader(tarBytes))
			if err != nil {
				t.Fatal(err)
			}
			if !hexHash.MatchString(got) {
				t.Fatalf("LayerRootHash = %q; want 64 hex digits", got)
			}
			path := filepath.Join(t.TempDir(), "layer.vhd")
			f, err := os.Create(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if err := tar2ext4.Convert(bytes.NewReader(tarBytes), f, tar2ext4.ConvertWhiteout,
				tar2ext4.MaximumDiskSize(dmverity.RecommendedVHDSizeGB), tar2ext4.AppendDMVerity); err != nil {
				t.Fatal(err)
			}
			if _, err := f.Seek(0, io.SeekStart); err != nil {
				t.Fatal(err)
			}
			fsSize, _, err := tar2ext4.Ext4FileSystemSize(f)
			if err != nil {
				t.Fatal(err)
			}
			info, err := dmverity.ReadDMVerityInfo(path, fsSize)
			if err != nil {
				t.Fatal(err)
			}
			if got != info.RootDigest {
				t.Errorf("LayerRootHash = %s; the verity device says %s", got, info.RootDigest)
			}
		})
	}
}

func TestLayerRootHashDependsOnContent(t *testing.T) {
	a := layerTar(t, []file{{"app/", 0o755, ""}, {"app/x", 0o755, "one"}})
	b := layerTar(t, []file{{"app/", 0o755, ""}, {"app/x", 0o755, "two"}})
	ha1, _ := ccepolicy.LayerRootHash(bytes.NewReader(a))
	ha2, _ := ccepolicy.LayerRootHash(bytes.NewReader(a))
	hb, _ := ccepolicy.LayerRootHash(bytes.NewReader(b))
	if ha1 != ha2 {
		t.Errorf("same layer twice: %s != %s", ha1, ha2)
	}
	if ha1 == hb {
		t.Errorf("different layers gave the same root hash %s", ha1)
	}
}

func TestLayerRootHashRejectsGarbage(t *testing.T) {
	if _, err := ccepolicy.LayerRootHash(strings.NewReader("not a tar stream, but long enough to be read as a tar header block by the reader...")); err == nil {
		t.Error("LayerRootHash(garbage) = nil error")
	}
}

// The same image read from a registry (the in-process one stands in for
// ACR) and from an OCI layout gives the same digest and root hashes.
func TestLoadRegistryAndLayout(t *testing.T) {
	img := operatorImage(t, "a")
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	ref, err := name.ParseReference(host+"/uid2-operator:test", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	lp, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := lp.AppendImage(img); err != nil {
		t.Fatal(err)
	}

	ctx := context.Background()
	var got []*ccepolicy.Image
	for _, src := range []string{host + "/uid2-operator:test", "oci:" + dir} {
		loaded, err := ccepolicy.Loader{Insecure: true}.Load(ctx, src)
		if err != nil {
			t.Fatalf("Load(%s) = %v", src, err)
		}
		var calls int
		info, err := ccepolicy.Inspect(loaded, src, func(i, n int, h string) { calls++ })
		if err != nil {
			t.Fatalf("Inspect(%s) = %v", src, err)
		}
		if calls != 2 || len(info.LayerHashes) != 2 {
			t.Fatalf("Inspect(%s): %d progress calls, %d hashes; want 2, 2", src, calls, len(info.LayerHashes))
		}
		got = append(got, info)
	}
	want, _ := img.Digest()
	for _, info := range got {
		if info.Digest != want.String() {
			t.Errorf("%s: digest %s; want %s", info.Source, info.Digest, want)
		}
		if strings.Join(info.LayerHashes, ",") != strings.Join(got[0].LayerHashes, ",") {
			t.Errorf("%s: layer hashes %v; want %v", info.Source, info.LayerHashes, got[0].LayerHashes)
		}
		if info.WorkingDir != "/app" || info.User != "1000:1000" || info.Entrypoint[0] != "/app/uid2-operator" {
			t.Errorf("%s: config %+v", info.Source, info)
		}
	}
}

func TestLoadErrors(t *testing.T) {
	ctx := context.Background()
	emptyLayout := t.TempDir()
	if _, err := layout.Write(emptyLayout, empty.Index); err != nil {
		t.Fatal(err)
	}
	for _, src := range []string{"oci:", "oci:" + filepath.Join(t.TempDir(), "missing"), "oci:" + emptyLayout, "UPPER/case:ref"} {
		if _, err := (ccepolicy.Loader{}).Load(ctx, src); err == nil {
			t.Errorf("Load(%q) = nil error", src)
		}
	}
}

// tar2ext4 stamps a directory it has to invent with the current time, so
// such a layer has no stable root hash: it is refused, naming the entry.
func TestLayerRootHashRefusesImplicitParents(t *testing.T) {
	for _, files := range [][]file{
		{{"app/uid2-operator", 0o755, "x"}},
		{{"app/", 0o755, ""}, {"app/bin/tool", 0o755, "x"}},
		{{"etc/.wh.gone", 0o644, ""}},
	} {
		_, err := ccepolicy.LayerRootHash(bytes.NewReader(layerTar(t, files)))
		if !errors.Is(err, ccepolicy.ErrImplicitParent) || !strings.Contains(err.Error(), files[len(files)-1].name) {
			t.Errorf("LayerRootHash(%v) = %v; want ErrImplicitParent naming the entry", files, err)
		}
	}
}

func TestBoundedReader(t *testing.T) {
	for _, tc := range []struct {
		size, limit int
		wantErr     bool
	}{{10, 11, false}, {11, 11, false}, {12, 11, true}, {0, 0, false}, {1, 0, true}} {
		_, err := io.ReadAll(ccepolicy.BoundedReaderForTest(strings.NewReader(strings.Repeat("x", tc.size)), int64(tc.limit)))
		if got := errors.Is(err, ccepolicy.ErrLayerTooLarge); got != tc.wantErr {
			t.Errorf("read %d bytes with limit %d: err %v; want ErrLayerTooLarge %v", tc.size, tc.limit, err, tc.wantErr)
		}
	}
}
