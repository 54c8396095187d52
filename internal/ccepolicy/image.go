package ccepolicy

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/Microsoft/hcsshim/ext4/tar2ext4"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/uid2-private-operator/uid2-operator/internal/ociimage"
)

// LayoutPrefix marks an image source as an OCI image layout directory
// ("oci:DIR") rather than a registry reference.
const LayoutPrefix = "oci:"

// Registry timeouts: every pull is bounded (a pull of the operator and the
// SKR sidecar is a few tens of MB).
const (
	DefaultDialTimeout  = 10 * time.Second
	DefaultPullTimeout  = 10 * time.Minute
	maxLayersPerImage   = 128
	maxConfigListLength = 4096
	// MaxLayerBytes bounds one uncompressed layer (its ext4 image goes to
	// a temporary file); the operator's layers are tens of MB.
	MaxLayerBytes = 4 << 30
)

// ErrLayerTooLarge means an uncompressed layer exceeds MaxLayerBytes.
var ErrLayerTooLarge = fmt.Errorf("layer larger than %d bytes uncompressed", MaxLayerBytes)

// boundedReader reads at most n bytes of r and fails with
// ErrLayerTooLarge if r has more.
type boundedReader struct {
	r io.Reader
	n int64
}

func (b *boundedReader) Read(p []byte) (int, error) {
	if b.n <= 0 {
		var probe [1]byte
		if n, err := b.r.Read(probe[:]); n == 0 && err != nil {
			return 0, err // io.EOF at exactly the limit
		}
		return 0, ErrLayerTooLarge
	}
	if int64(len(p)) > b.n {
		p = p[:b.n]
	}
	n, err := b.r.Read(p)
	b.n -= int64(n)
	return n, err
}

// Image is what a CCE policy needs from one container image: the dm-verity
// root hash of each layer (base layer first) and the parts of the image
// config that become the container's defaults.
type Image struct {
	// Source is where the image was read from (a reference or "oci:DIR").
	Source string
	// Digest is the manifest digest ("sha256:…").
	Digest string
	// LayerHashes are the hex dm-verity root hashes, base layer first:
	// the order of the policy's "layers" list.
	LayerHashes []string
	Env         []string
	Entrypoint  []string
	Cmd         []string
	WorkingDir  string
	User        string
	StopSignal  string
}

// LayerRootHash returns the dm-verity root hash (lowercase hex) of one
// uncompressed layer tar stream, computed as the guest does: the tar
// becomes a compact ext4 image (whiteouts converted, no VHD footer,
// hcsshim's recommended maximum disk size) and the root of its dm-verity
// Merkle tree (4 KiB blocks, SHA-256, zero salt) is returned. This is
// hcsshim's tar2ext4.ConvertAndComputeRootDigest, the same function its
// dmverity-vhd tool and az confcom call; the ext4 image goes to a
// temporary file that is removed before it returns.
//
// A layer whose tar lists a file before (or without) its parent directory
// is refused with ErrImplicitParent: tar2ext4 creates such directories
// with the current time, so the hash would change from one conversion to
// the next and never match the guest's.
func LayerRootHash(tarStream io.Reader) (hash string, err error) {
	// Third-party code parsing registry bytes: a panic becomes an error.
	defer func() {
		if r := recover(); r != nil {
			hash, err = "", fmt.Errorf("layer root hash: malformed layer: %v", r)
		}
	}()
	pr, pw := io.Pipe()
	scanned := make(chan error, 1)
	go func() {
		err := checkParents(pr)
		_, _ = io.Copy(io.Discard, pr) // keep the tee flowing to the converter
		scanned <- err
	}()
	h, err := tar2ext4.ConvertAndComputeRootDigest(io.TeeReader(&boundedReader{tarStream, MaxLayerBytes}, pw))
	pw.CloseWithError(err)
	if serr := <-scanned; serr != nil && errors.Is(serr, ErrImplicitParent) {
		return "", fmt.Errorf("layer root hash: %w", serr)
	}
	if err != nil {
		return "", fmt.Errorf("layer root hash: %w", err)
	}
	return h, nil
}

// ErrImplicitParent means a layer's tar has an entry whose parent
// directory no earlier entry created.
var ErrImplicitParent = errors.New("an entry comes before its parent directory (tar2ext4 would stamp the directory with the current time, so no stable root hash exists; rebuild the image so every directory has its own tar entry, as uid2-release does)")

// checkParents reads a tar stream and reports the first entry whose
// parent directory was not created by an earlier entry, with the path
// normalisation tar2ext4 applies.
func checkParents(r io.Reader) error {
	tr := tar.NewReader(r)
	seen := map[string]bool{}
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err // the converter reports malformed tars
		}
		name := path.Clean("/" + hdr.Name)[1:]
		if name == "" {
			continue
		}
		for dir := path.Dir(name); dir != "."; dir = path.Dir(dir) {
			if !seen[dir] {
				return fmt.Errorf("%w: %s (parent %s/)", ErrImplicitParent, hdr.Name, dir)
			}
		}
		seen[name] = true
	}
}

// Inspect reads img's config and computes the root hash of every layer.
// progress, when not nil, is called after each layer.
func Inspect(img v1.Image, source string, progress func(i, n int, rootHash string)) (*Image, error) {
	digest, err := img.Digest()
	if err != nil {
		return nil, fmt.Errorf("%s: digest: %w", source, err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("%s: config: %w", source, err)
	}
	if cf.OS != "" && cf.OS != "linux" {
		return nil, fmt.Errorf("%s: image OS is %q; confidential containers run linux images", source, cf.OS)
	}
	c := cf.Config
	if len(c.Env) > maxConfigListLength || len(c.Entrypoint)+len(c.Cmd) > maxConfigListLength {
		return nil, fmt.Errorf("%s: image config has too many env or command entries", source)
	}
	layers, err := img.Layers()
	if err != nil {
		return nil, fmt.Errorf("%s: layers: %w", source, err)
	}
	if len(layers) == 0 || len(layers) > maxLayersPerImage {
		return nil, fmt.Errorf("%s: image has %d layers (want 1 to %d)", source, len(layers), maxLayersPerImage)
	}
	out := &Image{
		Source:     source,
		Digest:     digest.String(),
		Env:        c.Env,
		Entrypoint: c.Entrypoint,
		Cmd:        c.Cmd,
		WorkingDir: c.WorkingDir,
		User:       c.User,
		StopSignal: c.StopSignal,
	}
	for i, l := range layers {
		rc, err := l.Uncompressed()
		if err != nil {
			return nil, fmt.Errorf("%s: layer %d: %w", source, i, err)
		}
		h, err := LayerRootHash(rc)
		rc.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: layer %d: %w", source, i, err)
		}
		out.LayerHashes = append(out.LayerHashes, h)
		if progress != nil {
			progress(i, len(layers), h)
		}
	}
	return out, nil
}

// Loader reads images from registries and OCI layouts. The zero value
// uses authn.DefaultKeychain (docker config, as written by `az acr login`
// or `docker login`), the default transport with DefaultDialTimeout, and
// linux/amd64 for multi-platform indexes.
type Loader struct {
	Keychain  authn.Keychain
	Transport http.RoundTripper
	// Insecure allows plain-HTTP registries (tests use an in-process one).
	Insecure bool
}

var amd64 = v1.Platform{OS: "linux", Architecture: "amd64"}

// Load returns the image named by src: "oci:DIR" for an OCI image layout
// (its index must hold exactly one image, or one linux/amd64 image), or a
// registry reference such as "myacr.azurecr.io/uid2-operator:1.0".
func (l Loader) Load(ctx context.Context, src string) (v1.Image, error) {
	if dir, ok := strings.CutPrefix(src, LayoutPrefix); ok {
		return loadLayout(dir)
	}
	var opts []name.Option
	if l.Insecure {
		opts = append(opts, name.Insecure)
	}
	ref, err := name.ParseReference(src, opts...)
	if err != nil {
		return nil, fmt.Errorf("image %q: %w", src, err)
	}
	kc := l.Keychain
	if kc == nil {
		kc = authn.DefaultKeychain
	}
	tr := l.Transport
	if tr == nil {
		tr = &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           (&net.Dialer{Timeout: DefaultDialTimeout}).DialContext,
			TLSHandshakeTimeout:   DefaultDialTimeout,
			ResponseHeaderTimeout: time.Minute,
		}
	}
	img, err := remote.Image(ref, remote.WithContext(ctx), remote.WithAuthFromKeychain(kc),
		remote.WithTransport(tr), remote.WithPlatform(amd64))
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", src, err)
	}
	return img, nil
}

// CheckSource reports whether src is a well-formed image source for Load
// without reading any image: "oci:DIR" must name a directory holding an
// index.json, anything else must parse as a registry reference. Callers
// check their flags with it before hashing layers, which takes minutes.
func CheckSource(src string) error {
	if dir, ok := strings.CutPrefix(src, LayoutPrefix); ok {
		if dir == "" {
			return errors.New(`no directory after "oci:"`)
		}
		if _, err := os.Stat(filepath.Join(dir, "index.json")); err != nil {
			return fmt.Errorf("%s is not an OCI image layout: %w", dir, err)
		}
		return nil
	}
	if _, err := name.ParseReference(src); err != nil {
		return fmt.Errorf("%q is neither oci:DIR nor a registry reference: %w", src, err)
	}
	return nil
}

func loadLayout(dir string) (v1.Image, error) {
	if dir == "" {
		return nil, errors.New(`image "oci:": no directory after "oci:"`)
	}
	img, err := ociimage.ReadLayout(dir)
	if err != nil {
		return nil, fmt.Errorf("image: %w", err)
	}
	return img, nil
}

// Build inspects the image of every container of pod and generates the
// policy. sources maps a manifest image reference to where to read it
// ("oci:DIR" or another reference); a reference missing from sources is
// read as it is written. Each image is read once. progress, when not nil,
// gets one line per layer.
func Build(ctx context.Context, l Loader, pod Pod, sources map[string]string, opts Options, progress func(string)) (*Policy, error) {
	images := map[string]*Image{}
	for _, c := range pod.Containers {
		if images[c.Image] != nil {
			continue
		}
		src := sources[c.Image]
		if src == "" {
			src = c.Image
		}
		img, err := l.Load(ctx, src)
		if err != nil {
			return nil, fmt.Errorf("container %s: %w", c.Name, err)
		}
		info, err := Inspect(img, src, func(i, n int, h string) {
			if progress != nil {
				progress(fmt.Sprintf("%s: layer %d/%d dm-verity root hash %s", c.Name, i+1, n, h))
			}
		})
		if err != nil {
			return nil, fmt.Errorf("container %s: %w", c.Name, err)
		}
		images[c.Image] = info
	}
	return Generate(pod, images, opts)
}
