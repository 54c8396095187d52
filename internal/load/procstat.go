package load

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"
)

// ClockTicks is USER_HZ, the unit of the CPU times in /proc/PID/stat. The
// kernel reports 100 on every architecture Go supports on Linux, and reading
// sysconf(_SC_CLK_TCK) would need cgo.
const ClockTicks = 100

// pageSize converts the rss field (pages) to bytes.
var pageSize = int64(os.Getpagesize())

// maxStatSize bounds what ReadStat reads: the file is one line of about 300
// bytes; comm is at most 64 bytes.
const maxStatSize = 4096

// Stat is the part of /proc/PID/stat (proc(5)) the load tool uses.
type Stat struct {
	PID   int
	Comm  string // executable name, without the parentheses
	State byte
	Utime int64 // user CPU in clock ticks (field 14)
	Stime int64 // system CPU in clock ticks (field 15)
	RSS   int64 // resident set in pages (field 24)
}

// CPU returns utime+stime as a duration.
func (s Stat) CPU() time.Duration {
	return time.Duration(s.Utime+s.Stime) * (time.Second / ClockTicks)
}

// RSSBytes returns the resident set size in bytes.
func (s Stat) RSSBytes() int64 { return s.RSS * pageSize }

// ErrStatFormat is returned for a /proc/PID/stat line that does not parse.
var ErrStatFormat = errors.New("load: malformed /proc/PID/stat")

// ParseStat parses one /proc/PID/stat line. comm may hold spaces and
// parentheses, so the fields after it are found from the last ')'.
func ParseStat(b []byte) (Stat, error) {
	var s Stat
	open := bytes.IndexByte(b, '(')
	closing := bytes.LastIndexByte(b, ')')
	if open < 1 || closing < open {
		return s, ErrStatFormat
	}
	pid, err := strconv.Atoi(string(bytes.TrimSpace(b[:open])))
	if err != nil || pid <= 0 {
		return s, fmt.Errorf("%w: pid", ErrStatFormat)
	}
	s.PID = pid
	s.Comm = string(b[open+1 : closing])
	// rest starts at field 3 (state).
	rest := bytes.Fields(b[closing+1:])
	const first = 3
	field := func(n int) ([]byte, bool) {
		if n-first >= len(rest) {
			return nil, false
		}
		return rest[n-first], true
	}
	st, ok := field(3)
	if !ok || len(st) != 1 {
		return s, fmt.Errorf("%w: state", ErrStatFormat)
	}
	s.State = st[0]
	for _, f := range []struct {
		n   int
		dst *int64
	}{{14, &s.Utime}, {15, &s.Stime}, {24, &s.RSS}} {
		raw, ok := field(f.n)
		if !ok {
			return s, fmt.Errorf("%w: field %d missing", ErrStatFormat, f.n)
		}
		v, err := strconv.ParseInt(string(raw), 10, 64)
		if err != nil || v < 0 {
			return s, fmt.Errorf("%w: field %d", ErrStatFormat, f.n)
		}
		*f.dst = v
	}
	return s, nil
}

// ReadStat reads and parses /proc/PID/stat.
func ReadStat(pid int) (Stat, error) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return Stat{}, fmt.Errorf("server pid %d: %w", pid, err)
	}
	defer f.Close()
	buf := make([]byte, maxStatSize)
	n, err := f.Read(buf)
	if err != nil {
		return Stat{}, fmt.Errorf("server pid %d: %w", pid, err)
	}
	return ParseStat(buf[:n])
}
