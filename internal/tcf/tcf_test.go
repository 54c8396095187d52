package tcf_test

import (
	"encoding/base64"
	"errors"
	"testing"

	"github.com/uid2-private-operator/uid2-operator/internal/tcf"
)

// K-13 strings (operator-api.md §6; OPT EUIDOperatorVerticleTest).
const (
	k13Sufficient     = "CPehNtWPehNtWABAMBFRACBoALAAAEJAAIYgAKwAQAKgArABAAqAAA"
	k13MissingPurpose = "CPehXK9PehXK9ABAMBFRACBoADAAAEJAAIYgAKwAQAKgArABAAqAAA"
	k13Invalid        = "invalid_consent_string"
)

func TestK13(t *testing.T) {
	tests := []struct {
		name    string
		s       string
		want    bool
		wantErr error
	}{
		{"sufficient", k13Sufficient, true, nil},
		{"missing purpose 1", k13MissingPurpose, false, nil},
		{"invalid", k13Invalid, false, tcf.ErrVersion},
		{"empty", "", false, tcf.ErrTruncated},
		{"null text", "null", false, tcf.ErrInvalid},
		{"not base64url", "CPeh+tWP", false, tcf.ErrEncoding},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := tcf.Parse(tc.s)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) || !errors.Is(err, tcf.ErrInvalid) {
					t.Fatalf("Parse(%q) = %v; want %v", tc.s, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q) = %v", tc.s, err)
			}
			if got := c.Allows(21, tcf.EUIDPurposes); got != tc.want {
				t.Errorf("Parse(%q).Allows(21, EUID) = %v; want %v (consent %b, li %b)", tc.s, got, tc.want, c.PurposesConsent, c.PurposesLITransparency)
			}
		})
	}
}

func TestK13Fields(t *testing.T) {
	c, err := tcf.Parse(k13Sufficient)
	if err != nil {
		t.Fatal(err)
	}
	if c.Version != 2 || !c.VendorConsent.Contains(21) || !c.VendorLegitimateInterest.Contains(21) {
		t.Errorf("version %d, vendor 21 consent %v LI %v", c.Version, c.VendorConsent.Contains(21), c.VendorLegitimateInterest.Contains(21))
	}
	// Purposes 1, 3, 4 by consent and 2, 7, 10 by legitimate interest.
	if c.PurposesConsent != tcf.Purposes(1, 3, 4) || c.PurposesLITransparency != tcf.Purposes(2, 7, 10) {
		t.Errorf("consent %b, LI %b", c.PurposesConsent, c.PurposesLITransparency)
	}
	m, _ := tcf.Parse(k13MissingPurpose)
	if m.PurposesConsent != tcf.Purposes(3, 4) || m.PurposesLITransparency != tcf.Purposes(2, 7, 10) {
		t.Errorf("missing-purpose string: consent %b, LI %b", m.PurposesConsent, m.PurposesLITransparency)
	}
}

// TestConstructed mirrors the reference's constructed-string test: purposes
// 1, 3, 4 by consent and 2, 7, 10 by legitimate interest, vendor 21 in both
// sections, no special features → allowed.
func TestConstructed(t *testing.T) {
	tests := []struct {
		name              string
		vc, vli           []int
		pc, pli           []int
		rangeVC, rangeVLI bool
		want              bool
	}{
		{"consent plus LI", []int{21}, []int{21}, []int{1, 3, 4}, []int{2, 7, 10}, false, false, true},
		{"range encoded", []int{21}, []int{21}, []int{1, 3, 4}, []int{2, 7, 10}, true, true, true},
		{"vendor not in LI", []int{21}, []int{17}, []int{1, 3, 4}, []int{2, 7, 10}, false, true, false},
		{"vendor not in consent", []int{20, 22}, []int{21}, []int{1, 3, 4}, []int{2, 7, 10}, true, false, false},
		{"all by consent", []int{5, 21, 300}, nil, []int{1, 2, 3, 4, 7, 10}, nil, false, false, true},
		{"purpose 10 missing", []int{21}, []int{21}, []int{1, 3, 4}, []int{2, 7}, false, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := encode(tc.vc, tc.vli, tc.pc, tc.pli, tc.rangeVC, tc.rangeVLI)
			c, err := tcf.Parse(s)
			if err != nil {
				t.Fatalf("Parse(%q) = %v", s, err)
			}
			if got := c.Allows(21, tcf.EUIDPurposes); got != tc.want {
				t.Errorf("Allows = %v; want %v", got, tc.want)
			}
			for _, v := range tc.vc {
				if !c.VendorConsent.Contains(v) {
					t.Errorf("vendor %d consent missing", v)
				}
			}
			if c.VendorConsent.Contains(0) || c.VendorConsent.Contains(c.VendorConsent.Max()+1) {
				t.Error("vendor outside section reported")
			}
			// A trailing segment and '=' padding are accepted.
			if _, err := tcf.Parse(s + "==.YAAAAAAAAAAA"); err != nil {
				t.Errorf("with segment: %v", err)
			}
		})
	}
}

func TestTruncations(t *testing.T) {
	b, _ := base64.RawURLEncoding.DecodeString(k13Sufficient)
	// The vendor LI section ends inside the last bytes; any shorter core
	// segment must fail cleanly.
	for n := 0; n < len(b)-3; n++ {
		s := base64.RawURLEncoding.EncodeToString(b[:n])
		if _, err := tcf.Parse(s); !errors.Is(err, tcf.ErrInvalid) {
			t.Errorf("Parse(first %d bytes) = %v; want ErrInvalid", n, err)
		}
	}
}

func TestPurposes(t *testing.T) {
	if got := tcf.Purposes(1, 2, 3, 4, 7, 10); got != tcf.EUIDPurposes {
		t.Errorf("Purposes = %b; want %b", got, tcf.EUIDPurposes)
	}
	if tcf.Purposes(0, 25).Has(0) || tcf.Purposes(24).Has(25) || !tcf.Purposes(24).Has(24) {
		t.Error("purpose bounds")
	}
}

func FuzzParse(f *testing.F) {
	f.Add(k13Sufficient)
	f.Add(k13MissingPurpose)
	f.Add(k13Invalid)
	f.Add("")
	f.Add(encode([]int{21}, []int{21}, []int{1}, []int{2}, true, true))
	b, _ := base64.RawURLEncoding.DecodeString(k13Sufficient)
	for i := range b {
		c := append([]byte(nil), b...)
		c[i] ^= 0x01
		f.Add(base64.RawURLEncoding.EncodeToString(c))
		f.Add(base64.RawURLEncoding.EncodeToString(b[:i]))
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := tcf.Parse(s)
		if err != nil {
			if !errors.Is(err, tcf.ErrInvalid) {
				t.Fatalf("Parse(%q) = %v; not ErrInvalid", s, err)
			}
			return
		}
		if c.Version != 2 {
			t.Fatalf("version %d accepted", c.Version)
		}
		c.Allows(21, tcf.EUIDPurposes)
		c.VendorConsent.Contains(1 << 16)
	})
}

// encode builds a TCF v2 core segment (test-only encoder following the IAB
// field table) with the given vendor and purpose sets.
func encode(vc, vli, pc, pli []int, rangeVC, rangeVLI bool) string {
	var w bitWriter
	w.put(2, 6)        // version
	w.put(0, 36)       // created
	w.put(0, 36)       // last updated
	w.put(1, 12)       // cmp id
	w.put(12, 12)      // cmp version
	w.put(1, 6)        // consent screen
	w.put(5*64+17, 12) // consent language "FR"
	w.put(2, 12)       // vendor list version
	w.put(1, 6)        // policy version
	w.put(1, 1)        // service specific
	w.put(0, 1)        // non-standard stacks
	w.put(0, 12)       // special feature opt-ins
	w.bits(pc, 24)     // purposes consent
	w.bits(pli, 24)    // purposes LI transparency
	w.put(1, 1)        // purpose one treatment
	w.put(3*64+4, 12)  // publisher CC "DE"
	w.vendors(vc, rangeVC)
	w.vendors(vli, rangeVLI)
	w.put(0, 12) // no publisher restrictions
	return base64.RawURLEncoding.EncodeToString(w.b)
}

type bitWriter struct {
	b []byte
	n int
}

func (w *bitWriter) put(v uint64, width int) {
	for i := width - 1; i >= 0; i-- {
		if w.n%8 == 0 {
			w.b = append(w.b, 0)
		}
		if v>>uint(i)&1 == 1 {
			w.b[w.n/8] |= 0x80 >> (w.n % 8)
		}
		w.n++
	}
}

func (w *bitWriter) bits(ids []int, width int) {
	set := map[int]bool{}
	for _, id := range ids {
		set[id] = true
	}
	for i := 1; i <= width; i++ {
		if set[i] {
			w.put(1, 1)
		} else {
			w.put(0, 1)
		}
	}
}

func (w *bitWriter) vendors(ids []int, ranged bool) {
	max := 0
	for _, id := range ids {
		max = maxInt(max, id)
	}
	w.put(uint64(max), 16)
	if !ranged {
		w.put(0, 1)
		w.bits(ids, max)
		return
	}
	w.put(1, 1)
	w.put(uint64(len(ids)), 12)
	for _, id := range ids {
		w.put(0, 1) // single id
		w.put(uint64(id), 16)
	}
}

func maxInt(a, b int) int {
	if a > b {
		return a
	}
	return b
}
