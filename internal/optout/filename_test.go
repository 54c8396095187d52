package optout_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/uid2-private-operator/uid2-operator/internal/optout"
)

func TestParseFileName(t *testing.T) {
	ts := time.Date(2021, 4, 21, 0, 5, 9, 0, time.UTC)
	tests := []struct {
		name string
		want optout.FileName
		err  bool
	}{
		{"optout-delta-000_2021-04-21T00.05.09Z_014e024f.dat", optout.FileName{Kind: optout.Delta, Replica: 0, Time: ts, Suffix: 0x014e024f}, false},
		{"optout-partition-999_2021-04-21T00.05.09Z_FFFFFFFF.dat", optout.FileName{Kind: optout.Partition, Replica: 999, Time: ts, Suffix: 0xffffffff}, false},
		{"optout-delta-1234_2021-04-21T00.05.09Z_00000000.dat", optout.FileName{Kind: optout.Delta, Replica: 1234, Time: ts}, false},
		{"", optout.FileName{}, true},
		{"optout-delta-000_2021-04-21T00.05.09Z_014e024f", optout.FileName{}, true},       // no .dat
		{"optout-log-000_2021-04-21T00.05.09Z_014e024f.dat", optout.FileName{}, true},     // legacy kind without path compat
		{"optout-delta-00_2021-04-21T00.05.09Z_014e024f.dat", optout.FileName{}, true},    // 2-digit replica
		{"optout-delta-0a0_2021-04-21T00.05.09Z_014e024f.dat", optout.FileName{}, true},   // non-digit replica
		{"optout-delta-000_2021-04-21T00:05:09Z_014e024f.dat", optout.FileName{}, true},   // ':' not escaped
		{"optout-delta-000_2021-04-21T00.05.09.5Z_014e024f.dat", optout.FileName{}, true}, // fraction
		{"optout-delta-000_2021-04-21T24.05.09Z_014e024f.dat", optout.FileName{}, true},   // hour 24
		{"optout-delta-000_2021-02-30T00.05.09Z_014e024f.dat", optout.FileName{}, true},   // no such day
		{"optout-delta-000_2021-04-21T00.05.09+01_014e024f.dat", optout.FileName{}, true}, // offset
		{"optout-delta-000_2021-04-21T00.05.09Z_014e024.dat", optout.FileName{}, true},    // 7 hex
		{"optout-delta-000_2021-04-21T00.05.09Z_014e024g.dat", optout.FileName{}, true},   // not hex
		{"optout-delta-000_2021-04-21T00.05.09Z_+14e024f.dat", optout.FileName{}, true},   // sign
		{"optout-delta-000_2021-04-21T00.05.09Z.dat", optout.FileName{}, true},            // no suffix
		{"optout-delta-000_2021-04-21T00.05.09Z_014e024f_x.dat", optout.FileName{}, true}, // extra field
		{"xoptout-delta-000_2021-04-21T00.05.09Z_014e024f.dat", optout.FileName{}, true},  // prefix
	}
	for _, tc := range tests {
		got, err := optout.ParseFileName(tc.name)
		if tc.err {
			if !errors.Is(err, optout.ErrFileName) {
				t.Errorf("ParseFileName(%q) = %+v, %v; want ErrFileName", tc.name, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseFileName(%q) = %+v, %v; want %+v", tc.name, got, err, tc.want)
		}
	}
}

func TestFileNameRoundTrip(t *testing.T) {
	f := optout.FileName{Kind: optout.Partition, Replica: 7, Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Suffix: 0xabc}
	s := f.String()
	if s != "optout-partition-007_2026-01-02T03.04.05Z_00000abc.dat" {
		t.Fatalf("String() = %q", s)
	}
	if got, err := optout.ParseFileName(s); err != nil || got != f {
		t.Fatalf("ParseFileName(%q) = %+v, %v; want %+v", s, got, err, f)
	}
}

func FuzzParseFileName(f *testing.F) {
	valid := "optout-delta-000_2021-04-21T00.05.09Z_014e024f.dat"
	f.Add(valid)
	f.Add("optout-partition-999_2021-04-21T00.00.00Z_ffffffff.dat")
	f.Add("optout-delta-999999999_9999-12-31T23.59.59Z_00000000.dat")
	f.Add("")
	for i := range len(valid) {
		f.Add(valid[:i]) // truncations
		b := []byte(valid)
		b[i] ^= 1 // one-bit flips
		f.Add(string(b))
	}
	f.Fuzz(func(t *testing.T, name string) {
		got, err := optout.ParseFileName(name)
		if err != nil {
			if !errors.Is(err, optout.ErrFileName) {
				t.Fatalf("ParseFileName(%q) error %v is not ErrFileName", name, err)
			}
			return
		}
		// Round trip: the canonical spelling parses to the same value, and
		// differs from the input only in replica zero-padding and hex case.
		again, err := optout.ParseFileName(got.String())
		if err != nil || again != got {
			t.Fatalf("ParseFileName(%q).String() = %q parses to %+v, %v", name, got.String(), again, err)
		}
		if got.Time.Location() != time.UTC || got.Time.Nanosecond() != 0 {
			t.Fatalf("ParseFileName(%q).Time = %v; want UTC whole seconds", name, got.Time)
		}
		if len(got.String()) == len(name) && !strings.EqualFold(got.String(), name) {
			t.Fatalf("ParseFileName(%q) accepted a non-canonical name (%q)", name, got.String())
		}
	})
}
