package mapping

import (
	"strconv"
	"testing"
	"time"
)

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
		got, ok, over := ParseLocalDateTime([]byte(tc.in))
		if ok != tc.ok || over != tc.over || (ok && !over && got != tc.want) {
			t.Errorf("ParseLocalDateTime(%q) = %d, %v, %v; want %d, %v, %v", tc.in, got, ok, over, tc.want, tc.ok, tc.over)
		}
	}
}

func TestAppendEpochSeconds(t *testing.T) {
	for _, sec := range []int64{0, 7, -1, -1234567890, 999_999_999, 1_000_000_000, 1_700_000_000, 1_234_567_890,
		9_999_999_999, 10_000_000_000, 1<<63 - 1, -1 << 63} {
		want := "x" + strconv.FormatInt(sec, 10)
		if got := string(appendEpochSeconds([]byte("x"), sec)); got != want {
			t.Errorf("appendEpochSeconds(x, %d) = %s; want %s", sec, got, want)
		}
	}
}
