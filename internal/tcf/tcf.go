// Package tcf parses IAB TCF v2 consent strings far enough to apply the EUID
// consent rule of /v2/token/generate (operator-api.md §2.1 step 3, §6 K-13).
//
// Only the core segment is read: the version, the purposes consent and
// purposes legitimate-interest transparency bitfields, and the vendor consent
// and vendor legitimate-interest sections (bitfield or range encoded).
// Publisher restrictions and the optional segments after the first '.' are
// not needed by the rule and are ignored.
package tcf

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// Errors returned by Parse. Every failure wraps ErrInvalid, so callers that
// only need "unparseable" test for that one.
var (
	// ErrInvalid is wrapped by every parse error.
	ErrInvalid = errors.New("tcf: invalid consent string")
	// ErrEncoding means the core segment is not base64url.
	ErrEncoding = fmt.Errorf("%w: not base64url", ErrInvalid)
	// ErrVersion means the string is not a TCF v2 string.
	ErrVersion = fmt.Errorf("%w: unsupported version", ErrInvalid)
	// ErrTruncated means a field runs past the end of the core segment.
	ErrTruncated = fmt.Errorf("%w: truncated", ErrInvalid)
)

// PurposeSet is a set of TCF purpose ids 1…24: bit i-1 stands for purpose i.
type PurposeSet uint32

// Purposes returns the set of the given purpose ids; ids outside 1…24 are
// ignored.
func Purposes(ids ...int) PurposeSet {
	var p PurposeSet
	for _, id := range ids {
		if id >= 1 && id <= numPurposes {
			p |= 1 << (id - 1)
		}
	}
	return p
}

// Has reports whether purpose id is in the set.
func (p PurposeSet) Has(id int) bool {
	return id >= 1 && id <= numPurposes && p&(1<<(id-1)) != 0
}

// EUIDPurposes are the purposes EUID requires (OP TransparentConsentPurpose
// as used by UIDOperatorVerticle#validateUserConsent): store information on a
// device (1), select basic ads (2), create a personalised ads profile (3),
// select personalised ads (4), measure ad performance (7) and develop and
// improve products (10).
const EUIDPurposes PurposeSet = 1<<0 | 1<<1 | 1<<2 | 1<<3 | 1<<6 | 1<<9 // bit id-1 for ids 1, 2, 3, 4, 7, 10

// Consent is the part of a TCF v2 core segment that the consent rule reads.
// The zero value grants nothing.
type Consent struct {
	Version int
	// PurposesConsent and PurposesLITransparency are the user's purpose
	// consents and the purposes disclosed under legitimate interest.
	PurposesConsent        PurposeSet
	PurposesLITransparency PurposeSet
	// VendorConsent and VendorLegitimateInterest are the vendor sections.
	VendorConsent            Vendors
	VendorLegitimateInterest Vendors
}

// Vendors is a set of vendor ids decoded from a vendor section.
type Vendors struct {
	max    int
	bits   []byte   // bitfield encoding: bit i (MSB first) is vendor i+1
	ranges [][2]int // range encoding: inclusive [start, end] pairs
}

// Contains reports whether vendor id is in the set.
func (v *Vendors) Contains(id int) bool {
	if id < 1 || id > v.max {
		return false
	}
	if v.bits != nil {
		i := id - 1
		return v.bits[i/8]&(0x80>>(i%8)) != 0
	}
	for _, r := range v.ranges {
		if id >= r[0] && id <= r[1] {
			return true
		}
	}
	return false
}

// Max returns the largest vendor id the section covers.
func (v *Vendors) Max() int { return v.max }

// Allows applies the consent rule of OP TransparentConsent#hasConsent: the
// purposes available to vendor are the consented purposes if the vendor has
// consent, plus the LI-transparency purposes if the vendor has legitimate
// interest; every purpose in required must be available. Special features
// are not considered.
func (c *Consent) Allows(vendor int, required PurposeSet) bool {
	var got PurposeSet
	if c.VendorConsent.Contains(vendor) {
		got |= c.PurposesConsent
	}
	if c.VendorLegitimateInterest.Contains(vendor) {
		got |= c.PurposesLITransparency
	}
	return got&required == required
}

// Bit offsets and widths of the TCF v2 core segment.
const (
	numPurposes = 24

	offVersion                = 0
	widthVersion              = 6
	offPurposesConsent        = 152
	offPurposesLITransparency = 176
	offVendorConsent          = 213

	widthMaxVendorID = 16
	widthNumEntries  = 12
	widthVendorID    = 16
)

// Parse decodes the core segment of a TCF v2 consent string s (base64url,
// padding optional). It does not retain s.
func Parse(s string) (*Consent, error) {
	core, _, _ := strings.Cut(s, ".")
	core = strings.TrimRight(core, "=")
	if core == "" {
		return nil, ErrTruncated
	}
	b, err := base64.RawURLEncoding.DecodeString(core)
	if err != nil {
		return nil, ErrEncoding
	}
	r := bitReader{b: b}
	c := &Consent{Version: int(r.read(offVersion, widthVersion))}
	if r.short {
		return nil, ErrTruncated
	}
	if c.Version != 2 {
		return nil, ErrVersion
	}
	c.PurposesConsent = r.purposes(offPurposesConsent)
	c.PurposesLITransparency = r.purposes(offPurposesLITransparency)
	next := r.vendors(offVendorConsent, &c.VendorConsent)
	r.vendors(next, &c.VendorLegitimateInterest)
	if r.short {
		return nil, ErrTruncated
	}
	return c, nil
}

// bitReader reads big-endian bit fields; reading past the end sets short and
// yields zeros.
type bitReader struct {
	b     []byte
	short bool
}

// read returns width (≤ 32) bits starting at bit offset off.
func (r *bitReader) read(off, width int) uint32 {
	if off < 0 || off+width > len(r.b)*8 {
		r.short = true
		return 0
	}
	var v uint32
	for i := off; i < off+width; i++ {
		v = v<<1 | uint32(r.b[i/8]>>(7-i%8)&1)
	}
	return v
}

// purposes reads a 24-bit purposes bitfield whose first bit is purpose 1.
func (r *bitReader) purposes(off int) PurposeSet {
	var p PurposeSet
	for i := range numPurposes {
		p |= PurposeSet(r.read(off+i, 1)) << i
	}
	return p
}

// vendors decodes a vendor section at off into v and returns the offset
// after it.
func (r *bitReader) vendors(off int, v *Vendors) int {
	v.max = int(r.read(off, widthMaxVendorID))
	off += widthMaxVendorID
	isRange := r.read(off, 1) == 1
	off++
	if r.short {
		return off
	}
	if !isRange {
		if off+v.max > len(r.b)*8 {
			r.short = true
			return off
		}
		v.bits = make([]byte, (v.max+7)/8)
		for i := 0; i < v.max; i++ {
			if r.read(off+i, 1) == 1 {
				v.bits[i/8] |= 0x80 >> (i % 8)
			}
		}
		return off + v.max
	}
	n := int(r.read(off, widthNumEntries))
	off += widthNumEntries
	for i := 0; i < n && !r.short; i++ {
		isARange := r.read(off, 1) == 1
		off++
		start := int(r.read(off, widthVendorID))
		off += widthVendorID
		end := start
		if isARange {
			end = int(r.read(off, widthVendorID))
			off += widthVendorID
		}
		v.ranges = append(v.ranges, [2]int{start, end})
	}
	return off
}
