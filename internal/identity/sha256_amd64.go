package identity

// useSHANI reports whether the CPU has the SHA extensions and the SSSE3 and
// SSE4.1 instructions blocksSHANI also uses.
var useSHANI = haveSHANI()

func haveSHANI() bool {
	maxLeaf, _, _, _ := cpuid(0, 0)
	if maxLeaf < 7 {
		return false
	}
	_, _, c1, _ := cpuid(1, 0)
	_, b7, _, _ := cpuid(7, 0)
	const ssse3, sse41, sha = 1 << 9, 1 << 19, 1 << 29
	return c1&ssse3 != 0 && c1&sse41 != 0 && b7&sha != 0
}

// blocksSHANI runs the SHA-256 compression function over nblocks 64-byte
// blocks at p, updating h. nblocks must be at least 1.
//
//go:noescape
func blocksSHANI(h *[8]uint32, p *byte, nblocks int)

func cpuid(leaf, sub uint32) (a, b, c, d uint32)
