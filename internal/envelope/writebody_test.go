package envelope_test

import (
	"bytes"
	"testing"

	"github.com/uid2-private-operator/uid2-operator/internal/envelope"
)

// TestWriteBody: the chunked writer gives AppendBody's bytes, of BodyLen
// length, on both sides of the chunk size.
func TestWriteBody(t *testing.T) {
	for _, n := range []int{0, 1, 2, 3, 48<<10 - 1, 48 << 10, 48<<10 + 1, 3*48<<10 + 2} {
		sealed := make([]byte, n)
		for i := range sealed {
			sealed[i] = byte(i * 7)
		}
		for _, mode := range []envelope.Mode{envelope.ModeBinary, envelope.ModeText} {
			var w bytes.Buffer
			if _, err := envelope.WriteBody(&w, mode, sealed, make([]byte, 0, envelope.ScratchLen(n))); err != nil {
				t.Fatal(err)
			}
			want := envelope.AppendBody(nil, mode, sealed)
			if !bytes.Equal(w.Bytes(), want) || envelope.BodyLen(mode, sealed) != len(want) {
				t.Errorf("WriteBody(%s, %d bytes) = %d bytes, BodyLen %d; want %d", mode, n, w.Len(), envelope.BodyLen(mode, sealed), len(want))
			}
		}
	}
}
