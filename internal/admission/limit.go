package admission

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"
)

// Memory sizing. The figures come from measuring the operator's RSS with
// many ~1 MiB identity-map requests in flight (README "Memory"): a request
// holds its body (decoded and decrypted in place) and its response (sealed
// in place, base64 streamed), about five times the body at most, and the
// garbage collector lets the heap grow to about twice what is live.
const (
	// costPerBodyByte is the peak heap per request body byte.
	costPerBodyByte = 5
	// costBase covers a request's fixed buffers (mapper, bufio, headers).
	costBase = 64 << 10

	// GoLimitPercent is the share of the container limit given to the Go
	// runtime as its soft memory limit; the rest is headroom for memory the
	// runtime does not count (thread stacks, page-cache pressure) and for
	// the collector to catch up before the kernel kills the process.
	GoLimitPercent = 80
	// BudgetPercent is the share of the memory limit that heavy requests
	// may hold together: with the collector's 2× growth it keeps the peak
	// RSS near half the limit, under the Go limit above.
	BudgetPercent = 25
	// DefaultBudget is the budget when no memory limit is known.
	DefaultBudget = 256 << 20
)

// RequestCost estimates the peak memory, in bytes, of one heavy request
// whose body is bodyLen bytes long; a negative bodyLen (unknown, as with a
// chunked body) or one above maxBody counts as maxBody.
func RequestCost(bodyLen, maxBody int64) int64 {
	if bodyLen < 0 || bodyLen > maxBody {
		bodyLen = maxBody
	}
	return costBase + costPerBodyByte*bodyLen
}

// Budget returns the heavy-request budget for a memory limit in bytes, or
// DefaultBudget when limit <= 0 (unknown).
func Budget(limit int64) int64 {
	if limit <= 0 {
		return DefaultBudget
	}
	return limit / 100 * BudgetPercent
}

// GoLimit returns the Go runtime soft memory limit for a container limit.
func GoLimit(limit int64) int64 { return limit / 100 * GoLimitPercent }

// unlimited is the smallest value treated as "no limit": cgroup v1 reports
// an unset limit as a page-rounded math.MaxInt64.
const unlimited = 1 << 62

// ContainerMemoryLimit returns the memory limit, in bytes, of the cgroup
// this process runs in, and the file it came from; 0 and "" when there is
// none. fsys is rooted at "/" (os.DirFS("/")); it reads proc/self/cgroup and
// the cgroup v2 memory.max, else the v1 memory.limit_in_bytes, taking the
// smallest limit on the way from the process's cgroup up to the root (a
// parent's limit applies to its children).
func ContainerMemoryLimit(fsys fs.FS) (limit int64, source string, err error) {
	self, err := fs.ReadFile(fsys, "proc/self/cgroup")
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return 0, "", fmt.Errorf("cgroup: %w", err)
	}
	v2, v1 := cgroupPaths(self)
	if l, src, err := smallestLimit(fsys, "sys/fs/cgroup", v2, "memory.max"); err != nil || l > 0 {
		return l, src, err
	}
	return smallestLimit(fsys, "sys/fs/cgroup/memory", v1, "memory.limit_in_bytes")
}

// cgroupPaths returns the process's cgroup v2 path and its v1 memory
// controller path from /proc/self/cgroup ("/" when absent).
func cgroupPaths(self []byte) (v2, v1 string) {
	v2, v1 = "/", "/"
	sc := bufio.NewScanner(bytes.NewReader(self))
	for sc.Scan() {
		// hierarchy-ID:controller-list:cgroup-path
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) != 3 {
			continue
		}
		switch {
		case parts[0] == "0" && parts[1] == "":
			v2 = parts[2]
		case containsField(parts[1], "memory"):
			v1 = parts[2]
		}
	}
	return v2, v1
}

func containsField(list, name string) bool {
	for _, f := range strings.Split(list, ",") {
		if f == name {
			return true
		}
	}
	return false
}

// smallestLimit reads file in mount/cg and each of its parents up to mount
// and returns the smallest limit found.
func smallestLimit(fsys fs.FS, mount, cg, file string) (int64, string, error) {
	var best int64
	var src string
	dir := path.Clean("/" + cg)
	for {
		name := path.Join(mount, dir, file)
		l, err := readLimit(fsys, name)
		if err != nil {
			return 0, "", err
		}
		if l > 0 && (best == 0 || l < best) {
			best, src = l, "/"+name
		}
		if dir == "/" {
			return best, src, nil
		}
		dir = path.Dir(dir)
	}
}

// readLimit reads a limit file: a byte count, or "max" (v2) or a huge value
// (v1) for none. A missing file is no limit.
func readLimit(fsys fs.FS, name string) (int64, error) {
	b, err := fs.ReadFile(fsys, name)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("cgroup: %w", err)
	}
	s := strings.TrimSpace(string(b))
	if s == "max" || s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("cgroup: %s: %q is not a byte count", name, s)
	}
	if n <= 0 || n >= unlimited {
		return 0, nil
	}
	return n, nil
}
