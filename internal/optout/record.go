// Package optout holds opt-out data: the 72-byte records of Opt-Out delta
// and partition files (core-and-optout.md §3.3), an immutable index keyed by
// first-level hash with a by-advertising-id view for /v2/optout/status
// (§3.4), the store that publishes indexes and takes local logouts, and the
// Policy that decides whether an identity is opted out (operator-api.md
// §2.15: the reference's test identities, the all-zero and all-0xFF hashes,
// then the data).
package optout

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// RecordSize is the size of one opt-out record.
const RecordSize = 72

// Errors of the file parser.
var (
	// ErrFileSize means a file's length is not a multiple of RecordSize.
	ErrFileSize = errors.New("optout: file length is not a multiple of 72")
	// ErrRecordVersion means a record's version bits are not 0 or 1.
	ErrRecordVersion = errors.New("optout: unknown record version")
)

// Record is one opt-out entry.
type Record struct {
	// FLH is the first-level hash of the opted-out identity.
	FLH [32]byte
	// AdvertisingID is the raw UID at opt-out time: 32 bytes (record version
	// 0) or 33 bytes (version 1); AdIDLen says which.
	AdvertisingID [33]byte
	AdIDLen       uint8
	// Timestamp is the opt-out time in epoch seconds.
	Timestamp int64
}

// AdID returns the advertising id bytes.
func (r *Record) AdID() []byte { return r.AdvertisingID[:r.AdIDLen] }

// sentinel reports whether a first-level hash is a delta file's start
// (all 0x00) or end (all 0xFF) marker.
func sentinel(h *[32]byte) bool {
	zero, ff := true, true
	for _, c := range h {
		zero = zero && c == 0
		ff = ff && c == 0xFF
	}
	return zero || ff
}

// ParseRecord decodes one 72-byte record.
func ParseRecord(b []byte) (Record, error) {
	var r Record
	if len(b) != RecordSize {
		return r, ErrFileSize
	}
	copy(r.FLH[:], b[:32])
	var ts [8]byte
	copy(ts[:7], b[64:71])
	r.Timestamp = int64(binary.LittleEndian.Uint64(ts[:]))
	meta := b[71]
	switch meta >> 6 {
	case 0:
		copy(r.AdvertisingID[:], b[32:64])
		r.AdIDLen = 32
	case 1:
		r.AdvertisingID[0] = meta & 0x3F
		copy(r.AdvertisingID[1:], b[32:64])
		r.AdIDLen = 33
	default:
		return r, ErrRecordVersion
	}
	return r, nil
}

// ParseFile decodes a delta or partition file and appends its records to
// dst, skipping the delta sentinels.
func ParseFile(dst []Record, b []byte) ([]Record, error) {
	if len(b)%RecordSize != 0 {
		return dst, ErrFileSize
	}
	for off := 0; off < len(b); off += RecordSize {
		r, err := ParseRecord(b[off : off+RecordSize])
		if err != nil {
			return dst, fmt.Errorf("record %d: %w", off/RecordSize, err)
		}
		if sentinel(&r.FLH) {
			continue
		}
		dst = append(dst, r)
	}
	return dst, nil
}

// AppendRecord appends the 72-byte encoding of r: version 0 for a 32-byte
// advertising id, version 1 (first byte in the metadata) for 33 bytes.
func AppendRecord(dst []byte, r *Record) []byte {
	dst = append(dst, r.FLH[:]...)
	var meta byte
	if r.AdIDLen == 33 {
		dst = append(dst, r.AdvertisingID[1:33]...)
		meta = 0x40 | r.AdvertisingID[0]&0x3F
	} else {
		dst = append(dst, r.AdvertisingID[:32]...)
	}
	var ts [8]byte
	binary.LittleEndian.PutUint64(ts[:], uint64(r.Timestamp))
	dst = append(dst, ts[:7]...)
	return append(dst, meta)
}

// AppendSentinel appends a delta sentinel: all-zero (start) or all-0xFF
// (end) hashes with the window time in seconds.
func AppendSentinel(dst []byte, end bool, ts int64) []byte {
	fill := byte(0)
	if end {
		fill = 0xFF
	}
	for range 64 {
		dst = append(dst, fill)
	}
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(ts))
	return append(dst, b[:]...)
}
