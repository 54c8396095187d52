package optout

import (
	"encoding/binary"
	"sync/atomic"

	"github.com/uid2-private-operator/uid2-operator/internal/identity"
)

// Flavour selects which test identities count as opted out (operator-api.md
// §2.15): the reference treats some as opted out on refresh only.
type Flavour uint8

// Flavours.
const (
	ForGenerate Flavour = iota // generate, CSTG, identity map
	ForRefresh
)

// Lookup answers whether opt-out data holds a record for a first-level
// hash. *Store satisfies it.
type Lookup interface {
	OptedOut(flh *[32]byte) bool
}

// Policy decides opt-out for an identity the way the reference does
// (§2.15): the built-in test identities first, then the all-zero (always
// out) and all-0xFF (never out) first-level hashes, then the opt-out data.
// It is safe for concurrent use; create it with NewPolicy.
type Policy struct {
	data Lookup
	// test caches the test identities' first-level hashes for the last
	// first-level salt seen, which in practice never changes.
	test atomic.Pointer[testHashes]
}

// NewPolicy returns a Policy over data; a nil data holds no records (only
// the test identities and special hashes are opted out).
func NewPolicy(data Lookup) *Policy { return &Policy{data: data} }

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

// testHashes holds the first-level hashes of the test identities for one
// first-level salt.
type testHashes struct {
	salt string
	flh  [len(testIdentities)][32]byte
	// head holds the first 8 bytes of each hash, so a lookup usually
	// settles on one word compare per test identity.
	head [len(testIdentities)]uint64
}

func (p *Policy) testHashes(firstLevelSalt string) *testHashes {
	if c := p.test.Load(); c != nil && c.salt == firstLevelSalt {
		return c
	}
	c := &testHashes{salt: firstLevelSalt}
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
	p.test.Store(c)
	return c
}

// OptedOut reports whether the identity of type typ with first-level hash
// flh (under firstLevelSalt) counts as opted out for flavour f. It does not
// allocate once the test hashes of the salt are cached.
func (p *Policy) OptedOut(typ identity.Type, flh *[32]byte, firstLevelSalt string, f Flavour) bool {
	th := p.testHashes(firstLevelSalt)
	head := binary.LittleEndian.Uint64(flh[:8])
	for i := range testIdentities {
		if th.head[i] == head && testIdentities[i].typ == typ && th.flh[i] == *flh {
			if f == ForRefresh {
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
	return p.data != nil && p.data.OptedOut(flh)
}
