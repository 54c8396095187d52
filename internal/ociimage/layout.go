package ociimage

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// RefNameAnnotation names the image inside an OCI layout, so that
// `podman pull oci:DIR:NAME` and skopeo can select it.
const RefNameAnnotation = "org.opencontainers.image.ref.name"

// WriteLayout writes img as the only image of the OCI image layout at dir and
// returns its digest. dir may be missing, empty, or an existing OCI layout
// (its index is replaced; blobs are content-addressed and left in place). Any
// other non-empty directory is refused, so a typo cannot litter a source tree.
// refName, if not empty, is stored as the image's ref.name annotation.
func WriteLayout(dir string, img v1.Image, refName string) (v1.Hash, error) {
	if err := CheckLayoutDir(dir); err != nil {
		return v1.Hash{}, err
	}
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return v1.Hash{}, fmt.Errorf("oci layout %s: %w", dir, err)
	}
	var opts []layout.Option
	if refName != "" {
		opts = append(opts, layout.WithAnnotations(map[string]string{RefNameAnnotation: refName}))
	}
	if err := p.AppendImage(img, opts...); err != nil {
		return v1.Hash{}, fmt.Errorf("oci layout %s: %w", dir, err)
	}
	return img.Digest()
}

// CheckLayoutDir reports whether WriteLayout may write to dir: missing,
// empty, or an OCI image layout. Callers check it before a long build.
func CheckLayoutDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("oci layout: %w", err)
	}
	if len(entries) == 0 {
		return nil
	}
	if _, err := os.Stat(filepath.Join(dir, "oci-layout")); err != nil {
		return fmt.Errorf("oci layout: %s is neither empty nor an OCI image layout (no oci-layout file)", dir)
	}
	return nil
}

// ReadLayout returns the image of the OCI image layout at dir: its only
// image, or its only linux/amd64 one when the index lists several platforms
// (a nested index is followed one level deep, as multi-platform builds write
// it). A layout with no image, or several candidates, is an error.
// `uid2-release push` and `aks policy --image oci:DIR` both read through it.
func ReadLayout(dir string) (v1.Image, error) {
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return nil, fmt.Errorf("oci layout %s: %w", dir, err)
	}
	img, err := singleImage(idx, 0)
	if err != nil {
		return nil, fmt.Errorf("oci layout %s: %w", dir, err)
	}
	return img, nil
}

var linuxAMD64 = v1.Platform{OS: "linux", Architecture: DefaultArchitecture}

func singleImage(idx v1.ImageIndex, depth int) (v1.Image, error) {
	m, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	if len(m.Manifests) == 0 {
		return nil, errors.New("index lists 0 manifests; want exactly one image")
	}
	var picked []v1.Descriptor
	for _, d := range m.Manifests {
		if len(m.Manifests) == 1 || d.Platform == nil || d.Platform.Satisfies(linuxAMD64) {
			picked = append(picked, d)
		}
	}
	if len(picked) != 1 {
		return nil, fmt.Errorf("index lists %d candidate images; want exactly one (or one linux/amd64)", len(picked))
	}
	d := picked[0]
	if d.MediaType.IsIndex() {
		if depth > 0 {
			return nil, errors.New("nested index too deep")
		}
		child, err := idx.ImageIndex(d.Digest)
		if err != nil {
			return nil, err
		}
		return singleImage(child, depth+1)
	}
	return idx.Image(d.Digest)
}

// Push uploads img to the registry reference ref (a tag or a digest
// reference) with the credentials of keychain — nil means
// authn.DefaultKeychain, which reads the Docker config that `az acr login` and
// `docker login` write. The caller's ctx bounds the whole upload. It returns
// the pushed image as repository@digest.
func Push(ctx context.Context, ref string, img v1.Image, keychain authn.Keychain) (name.Digest, error) {
	r, err := name.ParseReference(ref)
	if err != nil {
		return name.Digest{}, fmt.Errorf("push: reference %q: %w", ref, err)
	}
	digest, err := img.Digest()
	if err != nil {
		return name.Digest{}, err
	}
	if d, ok := r.(name.Digest); ok && d.DigestStr() != digest.String() {
		return name.Digest{}, fmt.Errorf("push: reference %q names digest %s but the image is %s", ref, d.DigestStr(), digest)
	}
	if keychain == nil {
		keychain = authn.DefaultKeychain
	}
	if err := remote.Write(r, img, remote.WithContext(ctx), remote.WithAuthFromKeychain(keychain)); err != nil {
		return name.Digest{}, fmt.Errorf("push %s: %w", r, err)
	}
	return r.Context().Digest(digest.String()), nil
}
