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
	if err := checkLayoutDir(dir); err != nil {
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

func checkLayoutDir(dir string) error {
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

// ReadLayout returns the only image of the OCI image layout at dir, as
// WriteLayout leaves it. A layout with no image or several is an error.
func ReadLayout(dir string) (v1.Image, error) {
	p, err := layout.FromPath(dir)
	if err != nil {
		return nil, fmt.Errorf("oci layout %s: %w", dir, err)
	}
	idx, err := p.ImageIndex()
	if err != nil {
		return nil, fmt.Errorf("oci layout %s: %w", dir, err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("oci layout %s: %w", dir, err)
	}
	if len(m.Manifests) != 1 {
		return nil, fmt.Errorf("oci layout %s: index lists %d manifests; want exactly one image", dir, len(m.Manifests))
	}
	img, err := idx.Image(m.Manifests[0].Digest)
	if err != nil {
		return nil, fmt.Errorf("oci layout %s: %w", dir, err)
	}
	return img, nil
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
