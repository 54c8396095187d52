//go:build !amd64

package identity

const useSHANI = false

func blocksSHANI(h *[8]uint32, p *byte, nblocks int) { panic("unreachable") }
