package hashids_test

import (
	"testing"

	"github.com/uid2-private-operator/uid2-operator/internal/hashids"
)

// Vectors of the Java library's own tests (hashids-java HashidsTest.java) that
// use the default alphabet and a single number.
func TestLibraryVectors(t *testing.T) {
	tests := []struct {
		name      string
		salt      string
		minLength int
		n         int64
		want      string
	}{
		{"test_one_number", "this is my salt", 0, 12345, "NkK9"},
		{"test_specifying_custom_hash_length", "this is my salt", 8, 1, "gB0NV05e"},
		{"test_randomness_for_incrementing 1", "this is my salt", 0, 1, "NV"},
		{"test_randomness_for_incrementing 2", "this is my salt", 0, 2, "6m"},
		{"test_randomness_for_incrementing 3", "this is my salt", 0, 3, "yD"},
		{"test_randomness_for_incrementing 4", "this is my salt", 0, 4, "2l"},
		{"test_randomness_for_incrementing 5", "this is my salt", 0, 5, "rD"},
		{"test_for_vlues_greater_int_maxval", "this is my salt", 0, 9876543210123, "Y8r7W1kNN"},
		{"test_issue10", "this is my salt", 0, 75527867232, "3kK3nNOe"},
		{"test_issue30 negative", "this is my salt", 0, -1, ""},
	}
	for _, tt := range tests {
		e := hashids.New(tt.salt, tt.minLength)
		if got := e.Encode(tt.n); got != tt.want {
			t.Errorf("%s: New(%q, %d).Encode(%d) = %q; want %q", tt.name, tt.salt, tt.minLength, tt.n, got, tt.want)
		}
	}
}

// K-11: bucket ids = id_prefix + Hashids(id_secret, 9).Encode(line id), for
// the OPR and CORE salt fixtures (operator-api.md §3.6, §6 K-11).
func TestBucketIDs(t *testing.T) {
	tests := []struct {
		prefix, secret string
		ids            map[int64]string
	}{
		{"b", "HF6Qz42HBbVHINxhh191dB09BCuTWyBkNtrNicO4ZCw=", map[int64]string{
			1000000: "bKaoveQoPR",
			1000001: "b1aZVGl7aB",
			1000002: "bv3WM92zaA",
			1000003: "bl5yy6kr58",
			1000004: "be58Mjz13q",
		}},
		{"a", "m3yMIcbg9vCaFLJsn4m4PfruZnvAZ72OxmFG5QsGMOw=", map[int64]string{
			1000000: "aRm9D3Bz2n",
			1000003: "a32MkAPRZV",
			1000004: "aLZnQe8Om7",
		}},
	}
	for _, tt := range tests {
		e := hashids.New(tt.secret, 9)
		for id, want := range tt.ids {
			got := string(e.AppendEncode([]byte(tt.prefix), id))
			if got != want {
				t.Errorf("%q + New(%q, 9).Encode(%d) = %q; want %q", tt.prefix, tt.secret, id, got, want)
			}
		}
	}
}

func TestRange(t *testing.T) {
	e := hashids.New("this is my salt", 0)
	// The Java library encodes MaxNumber and rejects MaxNumber+1
	// (test_large_nummber, test_large_nummber_not_supported).
	if got := e.Encode(hashids.MaxNumber); got == "" {
		t.Errorf("Encode(MaxNumber) = \"\"; want a hash")
	}
	for _, n := range []int64{-1, -1 << 63, hashids.MaxNumber + 1, 1<<63 - 1} {
		if got := string(e.AppendEncode([]byte("x"), n)); got != "x" {
			t.Errorf("AppendEncode(\"x\", %d) = %q; want dst unchanged", n, got)
		}
	}
	if got := e.Encode(0); got == "" {
		t.Errorf("Encode(0) = \"\"; want a hash")
	}
}

// TestMinLength checks the padding paths (one guard, two guards, alphabet
// wraps, lengths beyond the stack buffer): a hash is never cut, and a short
// one is padded to exactly the minimum.
func TestMinLength(t *testing.T) {
	const salt = "HF6Qz42HBbVHINxhh191dB09BCuTWyBkNtrNicO4ZCw="
	plain := hashids.New(salt, 0)
	for _, min := range []int{1, 2, 3, 4, 5, 9, 20, 44, 45, 100, 300} {
		e := hashids.New(salt, min)
		for _, n := range []int64{0, 1, 99, 100, 1000000, hashids.MaxNumber} {
			unpadded := plain.Encode(n)
			got := e.Encode(n)
			if want := max(min, len(unpadded)); len(got) != want {
				t.Errorf("New(_, %d).Encode(%d) = %q (%d chars); want %d chars", min, n, got, len(got), want)
			}
			if len(unpadded) >= min && got != unpadded {
				t.Errorf("New(_, %d).Encode(%d) = %q; want the unpadded %q", min, n, got, unpadded)
			}
		}
	}
	// Negative minimum lengths mean no minimum.
	if a, b := hashids.New("s", -5).Encode(7), hashids.New("s", 0).Encode(7); a != b {
		t.Errorf("minLength -5 gives %q, 0 gives %q; want equal", a, b)
	}
}

func TestDistinct(t *testing.T) {
	e := hashids.New("HF6Qz42HBbVHINxhh191dB09BCuTWyBkNtrNicO4ZCw=", 9)
	seen := make(map[string]int64)
	for n := int64(0); n < 20000; n++ {
		s := e.Encode(n)
		if prev, ok := seen[s]; ok {
			t.Fatalf("Encode(%d) = Encode(%d) = %q", n, prev, s)
		}
		seen[s] = n
	}
}

func TestAppendEncodeAllocs(t *testing.T) {
	e := hashids.New("HF6Qz42HBbVHINxhh191dB09BCuTWyBkNtrNicO4ZCw=", 9)
	dst := make([]byte, 0, 32)
	if got := testing.AllocsPerRun(100, func() { dst = e.AppendEncode(append(dst[:0], 'b'), 1000002) }); got != 0 {
		t.Errorf("AppendEncode: %v allocs per run; want 0", got)
	}
}

func BenchmarkAppendEncode(b *testing.B) {
	b.ReportAllocs()
	e := hashids.New("HF6Qz42HBbVHINxhh191dB09BCuTWyBkNtrNicO4ZCw=", 9)
	dst := make([]byte, 0, 32)
	for b.Loop() {
		dst = e.AppendEncode(append(dst[:0], 'b'), 1000002)
	}
}
