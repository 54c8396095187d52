package api

import (
	"encoding/binary"

	"github.com/uid2-private-operator/uid2-operator/internal/identity"
)

// optoutFlavour selects which test identities count as opted out (§2.15).
type optoutFlavour uint8

const (
	forGenerate optoutFlavour = iota // generate, CSTG, identity map
	forRefresh
)

// testIdentity is one of the reference's test identities, matched on
// (type, first-level hash); the operator's scope is implied.
type testIdentity struct {
	typ       identity.Type
	dii       string
	onGen     bool // opted out on generate and map
	onRefresh bool // opted out on refresh
}

// testIdentities follows the operator's code, not the docs, which swap the
// two phone numbers (§2.15).
var testIdentities = [...]testIdentity{
	{identity.TypeEmail, "optout@example.com", true, true},
	{identity.TypePhone, "+00000000000", true, true},
	{identity.TypeEmail, "refresh-optout@example.com", false, true},
	{identity.TypePhone, "+00000000002", false, true},
	{identity.TypeEmail, "validate@example.com", false, false},
	{identity.TypePhone, "+12345678901", false, false},
}

// testFLHs caches the first-level hashes of the test identities for one
// first-level salt, which in practice never changes.
type testFLHs struct {
	salt string
	flh  [len(testIdentities)][32]byte
	// head holds the first 8 bytes of each hash, so a lookup usually
	// settles on one word compare per test identity.
	head [len(testIdentities)]uint64
}

func (s *Server) testHashes(firstLevelSalt string) *testFLHs {
	if c := s.testFLH.Load(); c != nil && c.salt == firstLevelSalt {
		return c
	}
	c := &testFLHs{salt: firstLevelSalt}
	for i, t := range testIdentities {
		var h identity.Hash
		if t.typ == identity.TypePhone {
			h, _ = identity.PhoneHash(t.dii)
		} else {
			h, _ = identity.EmailHash(t.dii)
		}
		c.flh[i] = identity.FirstLevelHash(h, firstLevelSalt)
		c.head[i] = binary.LittleEndian.Uint64(c.flh[i][:8])
	}
	s.testFLH.Store(c)
	return c
}

// optedOut decides opt-out for an identity (§2.15): test identities first,
// then the all-zero (always out) and all-0xFF (never out) first-level
// hashes, then the opt-out data.
func (s *Server) optedOut(typ identity.Type, flh *[32]byte, firstLevelSalt string, flavour optoutFlavour) bool {
	th := s.testHashes(firstLevelSalt)
	head := binary.LittleEndian.Uint64(flh[:8])
	for i := range testIdentities {
		if th.head[i] == head && testIdentities[i].typ == typ && th.flh[i] == *flh {
			if flavour == forRefresh {
				return testIdentities[i].onRefresh
			}
			return testIdentities[i].onGen
		}
	}
	// The all-zero hash is always opted out and the all-0xFF hash never
	// (§2.15); only hashes starting with such a word can be either.
	if head == 0 || head == ^uint64(0) {
		allZero, allFF := true, true
		for _, c := range flh {
			allZero = allZero && c == 0
			allFF = allFF && c == 0xFF
		}
		switch {
		case allZero:
			return true
		case allFF:
			return false
		}
	}
	return s.opt.OptOuts != nil && s.opt.OptOuts.OptedOut(flh)
}
