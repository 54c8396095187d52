package mapping_test

import (
	"testing"
	"time"

	"github.com/uid2-private-operator/uid2-operator/internal/mapping"
)

// FuzzParseLocalDateTime: never panics; whatever parses with a four-digit
// year and whole seconds agrees with time.Parse read as UTC, and what
// time.Parse takes in that layout ParseLocalDateTime takes too.
func FuzzParseLocalDateTime(f *testing.F) {
	for _, s := range []string{"2024-01-01T00:00:00", "2024-02-29T23:59:59.999", "1969-12-31T23:59:59.0005",
		"+10000-01-01T00:00", "-0001-12-31T00:00", "2023-02-29T00:00:00", "2024-13-01T00:00", "", "T", "2024-01-01t12:34"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ms, ok, overflow := mapping.ParseLocalDateTime([]byte(s))
		want, err := time.Parse("2006-01-02T15:04:05", s)
		if err != nil || len(s) != len("2006-01-02T15:04:05") {
			return // other forms: only "never panics"
		}
		if !ok || overflow || ms != want.UnixMilli() {
			t.Fatalf("ParseLocalDateTime(%q) = %d, %v, %v; time.Parse gives %d", s, ms, ok, overflow, want.UnixMilli())
		}
	})
}
