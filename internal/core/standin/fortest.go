package standin

import (
	"time"

	"github.com/uid2-private-operator/uid2-operator/internal/optout"
	"github.com/uid2-private-operator/uid2-operator/internal/store"
)

// ForTest holds the stand-in's test hooks: they force failures and publish
// opt-out files that no operator call produces. They are reachable only
// through Server.ForTest, so a call reads as what it is; internal/archtest
// checks that only test files use them.
type ForTest struct{ s *Server }

// SetAttestStatus makes /attest answer code (with a status body) until
// reset with 0. It drives the operator's fatal and retry paths.
func (t ForTest) SetAttestStatus(code int) { t.s.attestStatus.Store(int32(code)) }

// AddOptOuts appends records to the next delta file, as if replicated.
func (t ForTest) AddOptOuts(recs ...optout.Record) { t.s.addPending(recs...) }

// AddDelta publishes a delta file named for time at, holding recs between
// the delta sentinels (tests of the operator's file selection).
func (t ForTest) AddDelta(at time.Time, recs ...optout.Record) { t.s.addDelta(at, recs...) }

// CloudKeys returns the keys encrypted files are sealed with.
func (t ForTest) CloudKeys() []store.CloudEncryptionKey { return t.s.opt.CloudKeys }
