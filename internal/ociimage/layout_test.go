package ociimage_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/uid2-private-operator/uid2-operator/internal/ociimage"
)

func TestWriteLayoutRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "layout")
	img := mustImage(t, testSpec())
	d, err := ociimage.WriteLayout(dir, img, "uid2-operator:1.2.3-test")
	if err != nil {
		t.Fatalf("WriteLayout: %v", err)
	}
	if d.String() != wantDigest {
		t.Errorf("WriteLayout digest %s; want %s", d, wantDigest)
	}
	var index struct {
		Manifests []struct {
			Digest      string
			Annotations map[string]string
		}
	}
	raw, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &index); err != nil {
		t.Fatal(err)
	}
	if len(index.Manifests) != 1 || index.Manifests[0].Digest != wantDigest ||
		index.Manifests[0].Annotations[ociimage.RefNameAnnotation] != "uid2-operator:1.2.3-test" {
		t.Errorf("index.json = %s; want one manifest %s named uid2-operator:1.2.3-test", raw, wantDigest)
	}
	back, err := ociimage.ReadLayout(dir)
	if err != nil {
		t.Fatalf("ReadLayout: %v", err)
	}
	if got := digest(t, back); got != wantDigest {
		t.Errorf("ReadLayout digest %s; want %s", got, wantDigest)
	}

	// Writing another image over the layout replaces the index entry.
	s := testSpec()
	s.Version = "2.0.0"
	img2 := mustImage(t, s)
	if _, err := ociimage.WriteLayout(dir, img2, ""); err != nil {
		t.Fatalf("WriteLayout over a layout: %v", err)
	}
	back, err = ociimage.ReadLayout(dir)
	if err != nil {
		t.Fatalf("ReadLayout after rewrite: %v", err)
	}
	if got, want := digest(t, back), digest(t, img2); got != want {
		t.Errorf("rewritten layout holds %s; want %s", got, want)
	}
}

func TestWriteLayoutRefusesOtherDirectories(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte("package main"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := ociimage.WriteLayout(dir, mustImage(t, testSpec()), "")
	if err == nil || !strings.Contains(err.Error(), "neither empty nor an OCI image layout") {
		t.Errorf("WriteLayout into a source directory = %v; want a refusal", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("refused WriteLayout left %d entries in the directory; want the 1 it had", len(entries))
	}
}

func TestReadLayoutErrors(t *testing.T) {
	if _, err := ociimage.ReadLayout(t.TempDir()); err == nil {
		t.Error("ReadLayout of an empty directory succeeded")
	}
	dir := t.TempDir()
	for _, f := range []struct{ name, body string }{
		{"oci-layout", `{"imageLayoutVersion":"1.0.0"}`},
		{"index.json", `{"schemaVersion":2,"manifests":[]}`},
	} {
		if err := os.WriteFile(filepath.Join(dir, f.name), []byte(f.body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := ociimage.ReadLayout(dir); err == nil || !strings.Contains(err.Error(), "lists 0 manifests") {
		t.Errorf("ReadLayout of a layout without images = %v; want 'lists 0 manifests'", err)
	}
}

// basicAuth puts HTTP basic auth in front of a handler, as ACR's token
// exchange does for docker-config credentials.
func basicAuth(user, pass string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		if !ok || u != user || p != pass {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// TestPushWithDockerConfig pushes to go-containerregistry's in-process
// registry, standing in for ACR, with the credentials `az acr login` leaves
// in the Docker config, then pulls the image back by digest.
func TestPushWithDockerConfig(t *testing.T) {
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(basicAuth("acr-user", "acr-token", reg))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")

	cfgDir := t.TempDir()
	cfg := fmt.Sprintf(`{"auths":{%q:{"auth":%q}}}`, host, base64.StdEncoding.EncodeToString([]byte("acr-user:acr-token")))
	if err := os.WriteFile(filepath.Join(cfgDir, "config.json"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DOCKER_CONFIG", cfgDir)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	img := mustImage(t, testSpec())
	ref := host + "/uid2/operator:1.2.3-test"
	pushed, err := ociimage.Push(ctx, ref, img, nil)
	if err != nil {
		t.Fatalf("Push: %v", err)
	}
	if want := host + "/uid2/operator@" + wantDigest; pushed.String() != want {
		t.Errorf("Push = %s; want %s", pushed, want)
	}
	for _, r := range []string{ref, pushed.String()} {
		ref, err := name.ParseReference(r)
		if err != nil {
			t.Fatal(err)
		}
		got, err := remote.Image(ref, remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain))
		if err != nil {
			t.Fatalf("pull %s: %v", r, err)
		}
		if d := digest(t, got); d != wantDigest {
			t.Errorf("pulled %s has digest %s; want %s", r, d, wantDigest)
		}
	}

	// Without credentials the registry refuses, and Push says so.
	empty := t.TempDir()
	t.Setenv("DOCKER_CONFIG", empty)
	if _, err := ociimage.Push(ctx, host+"/uid2/operator:anon", img, nil); err == nil ||
		!strings.Contains(err.Error(), "UNAUTHORIZED") && !strings.Contains(err.Error(), "401") {
		t.Errorf("anonymous Push = %v; want an authorization error", err)
	}
}

func TestPushRejectsBadReferences(t *testing.T) {
	img := mustImage(t, testSpec())
	ctx := context.Background()
	for _, tc := range []struct{ ref, wantMsg string }{
		{"UPPER/case:tag", `reference "UPPER/case:tag"`},
		{"127.0.0.1:1/uid2/operator@sha256:" + strings.Repeat("0", 64), "names digest sha256:000"},
	} {
		if _, err := ociimage.Push(ctx, tc.ref, img, authn.NewMultiKeychain()); err == nil || !strings.Contains(err.Error(), tc.wantMsg) {
			t.Errorf("Push(%q) = %v; want an error containing %q", tc.ref, err, tc.wantMsg)
		}
	}
}

// A multi-platform layout (an index per platform, or an index nested in the
// layout's) yields its linux/amd64 image; without platforms to choose by,
// several images are refused.
func TestReadLayoutPicksLinuxAMD64(t *testing.T) {
	amd, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	arm, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := amd.Digest()
	platforms := []struct {
		img  v1.Image
		arch string
	}{{arm, "arm64"}, {amd, "amd64"}}

	flat, err := layout.Write(t.TempDir(), empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	var adds []mutate.IndexAddendum
	for _, p := range platforms {
		plat := v1.Platform{OS: "linux", Architecture: p.arch}
		if err := flat.AppendImage(p.img, layout.WithPlatform(plat)); err != nil {
			t.Fatal(err)
		}
		adds = append(adds, mutate.IndexAddendum{Add: p.img, Descriptor: v1.Descriptor{Platform: &plat}})
	}
	nested, err := layout.Write(t.TempDir(), empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := nested.AppendIndex(mutate.AppendManifests(empty.Index, adds...)); err != nil {
		t.Fatal(err)
	}
	for name, dir := range map[string]string{"flat": string(flat), "nested": string(nested)} {
		img, err := ociimage.ReadLayout(dir)
		if err != nil {
			t.Errorf("%s: ReadLayout: %v", name, err)
			continue
		}
		if got, _ := img.Digest(); got != want {
			t.Errorf("%s: ReadLayout picked %s; want the linux/amd64 image %s", name, got, want)
		}
	}

	noPlatform, err := layout.Write(t.TempDir(), empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	for _, img := range []v1.Image{amd, arm} {
		if err := noPlatform.AppendImage(img); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := ociimage.ReadLayout(string(noPlatform)); err == nil || !strings.Contains(err.Error(), "2 candidate images") {
		t.Errorf("ReadLayout of two images without platforms = %v; want '2 candidate images'", err)
	}
}
