package ccepolicy_test

import (
	"bytes"
	"testing"

	"github.com/uid2-private-operator/uid2-operator/internal/ccepolicy"
)

// Layers come from registries: LayerRootHash must return an error, never
// panic, on any byte stream, and give one hash for one input.
func FuzzLayerRootHash(f *testing.F) {
	valid := layerTar(&testing.T{}, []file{{"app/", 0o755, ""}, {"app/x", 0o755, "payload"}, {"etc/.wh.gone", 0o644, ""}})
	f.Add(valid)
	f.Add(valid[:len(valid)/2])
	f.Add(valid[:512])
	flipped := bytes.Clone(valid)
	flipped[156] ^= 0x01 // type flag
	f.Add(flipped)
	f.Add([]byte{})
	f.Add(bytes.Repeat([]byte{0xff}, 1024))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<20 {
			return
		}
		h1, err1 := ccepolicy.LayerRootHash(bytes.NewReader(data))
		h2, err2 := ccepolicy.LayerRootHash(bytes.NewReader(data))
		if (err1 == nil) != (err2 == nil) || h1 != h2 {
			t.Fatalf("two runs differ: %q %v / %q %v", h1, err1, h2, err2)
		}
		if err1 == nil && !hexHash.MatchString(h1) {
			t.Fatalf("hash %q", h1)
		}
	})
}
