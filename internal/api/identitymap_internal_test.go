package api

import (
	"encoding/base64"
	"testing"
	"time"

	"github.com/uid2-private-operator/uid2-operator/internal/identity"
)

func TestAppendBase64UID(t *testing.T) {
	for i := range 300 {
		var flh [32]byte
		flh[0], flh[31] = byte(i), byte(i*7)
		for _, u := range []identity.RawUID{
			identity.RawUIDv2(&flh, "salt"),
			identity.RawUIDv3(&flh, "salt", identity.ScopeEUID, identity.TypePhone),
		} {
			want := base64.StdEncoding.EncodeToString(u.Bytes())
			if got := string(appendBase64UID([]byte("x"), &u)); got != "x"+want {
				t.Fatalf("appendBase64UID(%x) = %s; want x%s", u.Bytes(), got, want)
			}
		}
	}
}

func TestAppendBase64UIDShort(t *testing.T) {
	// Remainders of 1 and 2 bytes, via a 31-byte-ish view is not possible
	// with RawUID, so check the table on every 12-bit value instead.
	for v := range 4096 {
		b := []byte{byte(v >> 4), byte(v << 4)}
		want := base64.StdEncoding.EncodeToString(b)[:2]
		if got := string(b64Pairs[v][:]); got != want {
			t.Fatalf("b64Pairs[%d] = %s; want %s", v, got, want)
		}
	}
}

func BenchmarkAppendBase64UID(b *testing.B) {
	var flh [32]byte
	u := identity.RawUIDv2(&flh, "salt")
	buf := make([]byte, 0, 64)
	b.Run("table", func(b *testing.B) {
		for b.Loop() {
			buf = appendBase64UID(buf[:0], &u)
		}
	})
	b.Run("stdlib", func(b *testing.B) {
		for b.Loop() {
			buf = u.AppendBase64(buf[:0])
		}
	})
}

func TestParseLocalDateTimeMillis(t *testing.T) {
	ms := func(y int, mo time.Month, d, h, mi, s, ns int) int64 {
		return time.Date(y, mo, d, h, mi, s, ns, time.UTC).UnixMilli()
	}
	for _, tc := range []struct {
		in       string
		want     int64
		ok, over bool
	}{
		{"2024-01-01T00:00", ms(2024, 1, 1, 0, 0, 0, 0), true, false},
		{"2024-01-01t12:34:56", ms(2024, 1, 1, 12, 34, 56, 0), true, false},
		{"2024-02-29T23:59:59.9999999", ms(2024, 2, 29, 23, 59, 59, 999_999_900), true, false},
		{"2024-06-30T10:00:00.", ms(2024, 6, 30, 10, 0, 0, 0), true, false},
		{"2024-06-30T10:00:00.123456789", ms(2024, 6, 30, 10, 0, 0, 123_456_789), true, false},
		{"1969-12-31T23:59:59.999", -1, true, false},
		{"1969-12-31T23:59:59.0005", -1000, true, false},
		{"+10000-01-01T00:00", ms(10000, 1, 1, 0, 0, 0, 0), true, false},
		{"-0001-12-31T00:00", ms(-1, 12, 31, 0, 0, 0, 0), true, false},
		{"+999999999-12-31T23:59:59", 0, true, true},
		{"-999999999-01-01T00:00", 0, true, true},
		{"+1000000000-01-01T00:00", 0, false, false},
		{"10000-01-01T00:00", 0, false, false},
		{"+2024-01-01T00:00", 0, false, false},
		{"-0000-01-01T00:00", 0, false, false},
		{"2023-02-29T00:00", 0, false, false},
		{"2024-13-01T00:00", 0, false, false},
		{"2024-00-01T00:00", 0, false, false},
		{"2024-01-01T24:00", 0, false, false},
		{"2024-01-01T23:60", 0, false, false},
		{"2024-01-01T23:59:60", 0, false, false},
		{"2024-01-01T00:00Z", 0, false, false},
		{"2024-01-01T00:00:00.1234567890", 0, false, false},
		{"2024-01-01 00:00", 0, false, false},
		{"2024-01-01T0:00", 0, false, false},
		{"2024-01-01", 0, false, false},
		{"", 0, false, false},
	} {
		got, ok, over := parseLocalDateTimeMillis([]byte(tc.in))
		if ok != tc.ok || over != tc.over || (ok && !over && got != tc.want) {
			t.Errorf("parseLocalDateTimeMillis(%q) = %d, %v, %v; want %d, %v, %v", tc.in, got, ok, over, tc.want, tc.ok, tc.over)
		}
	}
}
