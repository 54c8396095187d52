package optout_test

import (
	"testing"

	"github.com/uid2-private-operator/uid2-operator/internal/identity"
	"github.com/uid2-private-operator/uid2-operator/internal/optout"
)

// lookupSet is opt-out data holding exactly the hashes in it.
type lookupSet map[[32]byte]bool

func (s lookupSet) OptedOut(flh *[32]byte) bool { return s[*flh] }

func TestPolicy(t *testing.T) {
	const salt = "policy-test-first-level-salt"
	flh := func(typ identity.Type, dii string) [32]byte {
		h, ok := identity.EmailHash(dii)
		if typ == identity.TypePhone {
			h, ok = identity.PhoneHash(dii)
		}
		if !ok {
			t.Fatalf("bad test DII %q", dii)
		}
		return identity.FirstLevelHash(h, salt)
	}
	var zero, ff [32]byte
	for i := range ff {
		ff[i] = 0xFF
	}
	nearZero := zero
	nearZero[31] = 1
	inData := flh(identity.TypeEmail, "in-data@example.com")
	data := lookupSet{inData: true, ff: true, nearZero: true}

	E, P := identity.TypeEmail, identity.TypePhone
	for _, tc := range []struct {
		name              string
		typ               identity.Type
		flh               [32]byte
		generate, refresh bool
	}{
		{"optout@example.com", E, flh(E, "optout@example.com"), true, true},
		{"+00000000000", P, flh(P, "+00000000000"), true, true},
		{"refresh-optout@example.com", E, flh(E, "refresh-optout@example.com"), false, true},
		{"+00000000002", P, flh(P, "+00000000002"), false, true},
		{"validate@example.com", E, flh(E, "validate@example.com"), false, false},
		{"+12345678901", P, flh(P, "+12345678901"), false, false},
		// A test identity's hash under the other type is not the test identity.
		{"optout@example.com as a phone", P, flh(E, "optout@example.com"), false, false},
		{"all-zero hash", E, zero, true, true},
		{"all-0xFF hash, even in the data", E, ff, false, false},
		{"zero head, in the data", E, nearZero, true, true},
		{"in the data", E, inData, true, true},
		{"not in the data", E, flh(E, "someone@example.com"), false, false},
	} {
		p := optout.NewPolicy(data)
		for _, f := range []struct {
			flavour optout.Flavour
			want    bool
		}{{optout.ForGenerate, tc.generate}, {optout.ForRefresh, tc.refresh}} {
			if got := p.OptedOut(tc.typ, &tc.flh, salt, f.flavour); got != f.want {
				t.Errorf("%s: OptedOut(flavour %d) = %v; want %v", tc.name, f.flavour, got, f.want)
			}
		}
	}
}

func TestPolicyNoData(t *testing.T) {
	p := optout.NewPolicy(nil)
	h, _ := identity.EmailHash("optout@example.com")
	for _, salt := range []string{"salt-a", "salt-b", "salt-a"} { // the cache follows the salt
		flh := identity.FirstLevelHash(h, salt)
		if !p.OptedOut(identity.TypeEmail, &flh, salt, optout.ForGenerate) {
			t.Errorf("optout@example.com under %s is not opted out", salt)
		}
		other := identity.FirstLevelHash(h, salt+"x")
		if p.OptedOut(identity.TypeEmail, &other, salt, optout.ForGenerate) {
			t.Errorf("a hash under another salt matched the test identity")
		}
	}
}

func BenchmarkPolicy(b *testing.B) {
	p := optout.NewPolicy(lookupSet{})
	h, _ := identity.EmailHash("someone@example.com")
	flh := identity.FirstLevelHash(h, "salt")
	b.ReportAllocs()
	for b.Loop() {
		p.OptedOut(identity.TypeEmail, &flh, "salt", optout.ForGenerate)
	}
}
