package load

import (
	"errors"
	"os"
	"testing"
	"time"
)

func TestParseStat(t *testing.T) {
	// Fields 1–24 of proc(5) with utime=1234, stime=56, rss=789.
	const tail = " S 1 100 100 0 -1 4194560 2345 0 0 0 1234 56 0 0 20 0 5 0 1000 123456789 789 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n"
	tests := []struct {
		name string
		line string
		want Stat
	}{
		{"plain", "4242 (uid2-operator)" + tail, Stat{PID: 4242, Comm: "uid2-operator", State: 'S', Utime: 1234, Stime: 56, RSS: 789}},
		{"comm with spaces and parentheses", "7 (a) b (c)" + tail, Stat{PID: 7, Comm: "a) b (c", State: 'S', Utime: 1234, Stime: 56, RSS: 789}},
		{"empty comm", "9 ()" + tail, Stat{PID: 9, Comm: "", State: 'S', Utime: 1234, Stime: 56, RSS: 789}},
		{"fields end at rss", "5 (x) R 1 1 1 0 -1 0 0 0 0 0 7 8 0 0 20 0 1 0 1 1 3", Stat{PID: 5, Comm: "x", State: 'R', Utime: 7, Stime: 8, RSS: 3}},
	}
	for _, tt := range tests {
		got, err := ParseStat([]byte(tt.line))
		if err != nil || got != tt.want {
			t.Errorf("%s: ParseStat = %+v, %v; want %+v", tt.name, got, err, tt.want)
		}
	}
	if got := (Stat{Utime: 150, Stime: 50}).CPU(); got != 2*time.Second {
		t.Errorf("CPU of 200 ticks = %v; want 2s", got)
	}
}

func TestParseStatErrors(t *testing.T) {
	for _, line := range []string{
		"",
		"4242 uid2-operator S 1", // no parentheses
		"(x) S 1 1 1 0 -1 0 0 0 0 0 7 8 0 0 20 0 1 0 1 1 3",       // no pid
		"0 (x) S 1 1 1 0 -1 0 0 0 0 0 7 8 0 0 20 0 1 0 1 1 3",     // pid 0
		"5 (x) S 1 1 1 0 -1 0 0 0 0 0 7 8 0 0 20 0 1 0 1 1",       // rss missing
		"5 (x) S 1 1 1 0 -1 0 0 0 0 0",                            // utime missing
		"5 (x) S 1 1 1 0 -1 0 0 0 0 0 -7 8 0 0 20 0 1 0 1 1 3",    // negative utime
		"5 (x) S 1 1 1 0 -1 0 0 0 0 0 7 eight 0 0 20 0 1 0 1 1 3", // not a number
		"5 (x) SS 1 1 1 0 -1 0 0 0 0 0 7 8 0 0 20 0 1 0 1 1 3",    // state is one letter
		"5 (x", // truncated in comm
		"5 (x) S 1 1 1 0 -1 0 0 0 0 0 99999999999999999999 8 0 0 20", // overflow
	} {
		if got, err := ParseStat([]byte(line)); !errors.Is(err, ErrStatFormat) {
			t.Errorf("ParseStat(%q) = %+v, %v; want ErrStatFormat", line, got, err)
		}
	}
}

func TestReadStatSelf(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	// Burn a little CPU so utime+stime cannot be zero at 10 ms ticks.
	deadline := time.Now().Add(50 * time.Millisecond)
	for time.Now().Before(deadline) {
	}
	s, err := ReadStat(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if s.PID != os.Getpid() || s.Comm == "" || s.CPU() <= 0 || s.RSSBytes() <= 0 {
		t.Errorf("ReadStat(self) = %+v; want this process with CPU and RSS", s)
	}
	if _, err := ReadStat(1 << 30); err == nil {
		t.Error("ReadStat of a pid that cannot exist: no error")
	}
}

func FuzzParseStat(f *testing.F) {
	f.Add([]byte("4242 (uid2-operator) S 1 100 100 0 -1 4194560 2345 0 0 0 1234 56 0 0 20 0 5 0 1000 123456789 789 1"))
	f.Add([]byte("7 (a) b (c) R 1 1 1 0 -1 0 0 0 0 0 7 8 0 0 20 0 1 0 1 1 3"))
	f.Add([]byte("1 ("))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseStat(b)
		if err == nil && (s.PID <= 0 || s.Utime < 0 || s.Stime < 0 || s.RSS < 0) {
			t.Fatalf("ParseStat(%q) = %+v without error", b, s)
		}
	})
}
