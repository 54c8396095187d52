// Package mapping is the identity-map engine (operator-api.md §2.5–§2.7,
// §3.2–§3.5): it normalizes identities, applies the opt-out policy, finds
// each identity's salt bucket and derives its raw UIDs, and renders the
// bodies of /v2/identity/map, /v3/identity/map and /v2/identity/buckets. It
// works on bytes (request JSON values in, response JSON appended to a
// caller's buffer) and knows nothing of HTTP: api decodes and validates the
// request, calls in here, and wraps and seals the answer.
//
// The engine runs per identity on the operator's heaviest route, 5,000
// identities a request; the Mapper keeps the per-identity state in one
// heap object so that mapping an identity allocates nothing.
package mapping

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"unsafe"

	"github.com/uid2-private-operator/uid2-operator/internal/identity"
	"github.com/uid2-private-operator/uid2-operator/internal/jsonscan"
	"github.com/uid2-private-operator/uid2-operator/internal/jsonw"
	"github.com/uid2-private-operator/uid2-operator/internal/optout"
	"github.com/uid2-private-operator/uid2-operator/internal/salts"
	"github.com/uid2-private-operator/uid2-operator/internal/store"
)

// ErrIncorrectFormat reports a /v3/identity/map array element that is not a
// string, number or boolean: the reference's String[] binding rejects it
// with 400 "Incorrect request format".
var ErrIncorrectFormat = errors.New("mapping: array element is not a string")

// Config is the operator configuration the engine needs. It is read-only
// once in use and shared by every Mapper.
type Config struct {
	Scope identity.Scope
	// IdentityV3 derives 33-byte raw UID v3 instead of v2 for salt buckets.
	IdentityV3 bool
	// OptOuts decides opt-out with the generate flavour (§2.15); required.
	OptOuts *optout.Policy
}

// Raw UID versions, the indexes of Counts.UIDs.
const (
	UIDv2 = iota
	UIDv3
	UIDv4
	UIDVersions
)

// Reasons an identity is not mapped (OP IdentityMapResponseType); clients
// match this text; do not change.
const (
	reasonOptout  = "optout"
	reasonInvalid = "invalid identifier"
)

// v3Order is the order of the four arrays in a /v3/identity/map body: the
// iteration order of the reference's HashMap (§2.6). SDKs do not depend on it.
var v3Order = [...]identity.InputKind{identity.KindEmailHash, identity.KindPhone, identity.KindPhoneHash, identity.KindEmail}

// Counts are a request's figures for the identity-map metrics.
type Counts struct {
	PerKind                   [4]int // inputs by InputKind-1
	Mapped, OptedOut, Invalid int
	UIDs                      [UIDVersions]int // raw UIDs derived, by version
}

// Mapper maps the identities of one request against one snapshot's salts
// at one instant. It is not safe for concurrent use.
type Mapper struct {
	cfg    *Config
	set    *store.SaltSet
	snap   *salts.Snapshot // the one in force at nowMs; table is its Table
	table  *salts.Table
	flSalt string
	env    identity.Environment
	nowMs  int64

	// The last identity mapOne mapped: its first-level hash, salt bucket
	// and current raw UID, and the previous raw UID appendV3 derives. They
	// live here, in the one heap-allocated Mapper, because the opt-out
	// lookup takes the hash, and V4Key.SetRawUID the UID, through an
	// interface, which would move a local to the heap for every identity.
	flh      [32]byte
	bucket   int // index of entry in table
	entry    salts.Entry
	current  identity.RawUID
	previous identity.RawUID
	// flhText is the base64 text of flh, shared by the current and previous
	// salted raw UIDs; hasText reports whether it is set for this flh.
	flhText identity.FLHText
	hasText bool

	// scratch holds a decoded string that needed unescaping; bucketID the
	// v2 bucket id being rendered.
	scratch  []byte
	bucketID []byte
	// v4 caches the last prepared v4 key: buckets share a handful of keys.
	v4 *identity.V4Key

	counts Counts
}

// New returns a Mapper for snap's salts at nowMs (epoch milliseconds).
func New(cfg *Config, snap *store.Snapshot, nowMs int64) *Mapper {
	env, _ := identity.ParseEnvironment(snap.Runtime.IdentityEnvironment)
	sn := snap.Salts.At(nowMs)
	return &Mapper{
		cfg: cfg, set: snap.Salts, snap: sn, table: sn.Table,
		flSalt: snap.Salts.FirstLevel(), env: env, nowMs: nowMs,
		scratch: make([]byte, 0, 256), bucketID: make([]byte, 0, 32),
	}
}

// Counts returns the figures of the identities mapped so far.
func (m *Mapper) Counts() *Counts { return &m.counts }

// AppendV2 appends the members of a /v2/identity/map body (§2.5) for the
// inputs of kind in the JSON array arr: "mapped":[…] and, when some are not
// mapped, ,"unmapped":[…]. arr holds no null elements (api answers those as
// the reference does). An error means a salt bucket could not be used.
func (m *Mapper) AppendV2(dst []byte, kind identity.InputKind, arr []byte) ([]byte, error) {
	dst = append(dst, `"mapped":[`...)
	var unmapped []byte
	for it := jsonscan.Elements(arr); ; {
		v, ok := it.Next()
		if !ok {
			break
		}
		in := m.input(v)
		reason, err := m.mapOne(kind, in)
		if err != nil {
			return dst, err
		}
		if reason != "" {
			if len(unmapped) > 0 {
				unmapped = append(unmapped, ',')
			}
			unmapped = append(unmapped, `{"identifier":`...)
			unmapped = jsonw.AppendString(unmapped, bytesString(in))
			unmapped = append(unmapped, `,"reason":"`...)
			unmapped = append(unmapped, reason...)
			unmapped = append(unmapped, `"}`...)
			continue
		}
		if dst[len(dst)-1] != '[' {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"identifier":`...)
		dst = jsonw.AppendString(dst, bytesString(in))
		dst = append(dst, `,"advertising_id":"`...)
		dst = m.current.AppendBase64(dst)
		dst = append(dst, `","bucket_id":`...)
		m.bucketID = m.set.AppendBucketIDAt(m.bucketID[:0], m.snap, m.bucket, m.entry.ID)
		dst = jsonw.AppendString(dst, bytesString(m.bucketID))
		dst = append(dst, '}')
	}
	dst = append(dst, ']')
	if len(unmapped) > 0 {
		dst = append(dst, `,"unmapped":[`...)
		dst = append(dst, unmapped...)
		dst = append(dst, ']')
	}
	return dst, nil
}

// AppendV3 appends the members of a /v3/identity/map body (§2.6, §3.5): the
// four arrays in v3Order, each index-aligned with its input array in
// arrays (by InputKind-1; an absent or null one renders as []), of
// {"u","p","r"} or {"e"} objects. An element that is not a scalar gives
// ErrIncorrectFormat; any other error means a salt bucket could not be used.
func (m *Mapper) AppendV3(dst []byte, arrays *[4]jsonscan.Value) ([]byte, error) {
	for i, kind := range v3Order {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, '"')
		dst = append(dst, kind.String()...)
		dst = append(dst, `":[`...)
		if v := arrays[kind-1]; v.Kind == jsonscan.Array {
			first := true
			for it := jsonscan.Elements(v.Raw); ; {
				e, ok := it.Next()
				if !ok {
					break
				}
				switch e.Kind {
				case jsonscan.String, jsonscan.Number, jsonscan.Bool:
				default: // null, arrays and objects do not make a String[]
					return dst, ErrIncorrectFormat
				}
				if !first {
					dst = append(dst, ',')
				}
				first = false
				var err error
				if dst, err = m.appendV3(dst, kind, m.input(e)); err != nil {
					return dst, err
				}
			}
		}
		dst = append(dst, ']')
	}
	return dst, nil
}

// appendV3 appends the /v3/identity/map answer for one input (§2.6, §3.5).
func (m *Mapper) appendV3(dst []byte, kind identity.InputKind, in []byte) ([]byte, error) {
	reason, err := m.mapOne(kind, in)
	if err != nil {
		return dst, err
	}
	if reason != "" {
		dst = append(dst, `{"e":"`...)
		dst = append(dst, reason...)
		return append(dst, `"}`...), nil
	}
	dst = append(dst, `{"u":"`...)
	dst = m.current.AppendBase64(dst)
	dst = append(dst, `","p":`...)
	if salts.PreviousApplies(m.entry, m.nowMs) {
		if err := m.uid(&m.previous, kind.Type(), m.entry.PreviousSalt, m.entry.PreviousKey); err != nil {
			return dst, err
		}
		dst = append(dst, '"')
		dst = m.previous.AppendBase64(dst)
		dst = append(dst, '"')
	} else {
		dst = append(dst, "null"...)
	}
	dst = append(dst, `,"r":`...)
	dst = appendEpochSeconds(dst, salts.RefreshFrom(m.entry, m.nowMs)/1000)
	return append(dst, '}'), nil
}

// appendEpochSeconds appends the decimal text of sec. Epoch seconds from
// 2001 to 2286 have ten digits, written in place two at a time: strconv
// would format into its own buffer and copy, which costs twice as much.
func appendEpochSeconds(dst []byte, sec int64) []byte {
	if sec < 1e9 || sec >= 1e10 {
		return strconv.AppendInt(dst, sec, 10)
	}
	n := len(dst)
	dst = slices.Grow(dst, 10)[:n+10]
	o := (*[10]byte)(dst[n:])
	u := uint64(sec)
	for i := 8; i >= 0; i -= 2 {
		r := u % 100
		u /= 100
		o[i], o[i+1] = digitPairs[2*r], digitPairs[2*r+1]
	}
	return dst
}

// digitPairs holds the two decimal digits of 0 to 99 at 2*n.
const digitPairs = "00010203040506070809" + "10111213141516171819" + "20212223242526272829" +
	"30313233343536373839" + "40414243444546474849" + "50515253545556575859" +
	"60616263646566676869" + "70717273747576777879" + "80818283848586878889" + "90919293949596979899"

// input returns an element as the string the reference reads with getString
// or Jackson's String coercion: a string's decoded content, or the JSON text
// of any other value. The result aliases the payload or m.scratch and is
// valid until the next call.
func (m *Mapper) input(v jsonscan.Value) []byte {
	if v.Kind != jsonscan.String {
		return v.Raw
	}
	return v.Content(m.scratch[:0])
}

// mapOne normalizes and maps one input of the given kind (§2.14, §2.15 with
// the generate flavour, §3.2–§3.4). It returns the reason the input is not
// mapped, or "" with m.flh, m.entry and m.current set.
func (m *Mapper) mapOne(kind identity.InputKind, in []byte) (reason string, err error) {
	m.counts.PerKind[kind-1]++
	h, ok := identity.Parse(kind, bytesString(in))
	if !ok {
		m.counts.Invalid++
		return reasonInvalid, nil
	}
	m.flh = identity.FirstLevelHash(h, m.flSalt)
	m.hasText = false
	typ := kind.Type()
	if m.cfg.OptOuts.OptedOut(typ, &m.flh, m.flSalt, optout.ForGenerate) {
		m.counts.OptedOut++
		return reasonOptout, nil
	}
	m.counts.Mapped++
	m.bucket = identity.BucketIndex(&m.flh, m.table.Len())
	m.entry = m.table.Entry(m.bucket)
	return "", m.uid(&m.current, typ, m.entry.CurrentSalt, m.entry.CurrentKey)
}

// uid sets *dst to the raw UID of m.flh for one side of a bucket (§3.4):
// from the salt when there is one (v2, or v3 with identity_v3), else v4 from
// the key material. dst must be a field of m, so that v4 does not allocate.
func (m *Mapper) uid(dst *identity.RawUID, typ identity.Type, salt string, km salts.KeyMaterial) error {
	if salt != "" {
		if !m.hasText {
			m.flhText.Set(&m.flh)
			m.hasText = true
		}
		if m.cfg.IdentityV3 {
			*dst = m.flhText.RawUIDv3(salt, m.cfg.Scope, typ)
			m.counts.UIDs[UIDv3]++
		} else {
			*dst = m.flhText.RawUIDv2(salt)
			m.counts.UIDs[UIDv2]++
		}
		return nil
	}
	if !km.Valid {
		return fmt.Errorf("salt bucket has neither salt nor key material")
	}
	k := m.v4
	if k == nil || k.ID() != km.ID {
		var err error
		if k, err = m.set.V4Key(km); err != nil {
			return err
		}
		m.v4 = k
	}
	k.SetRawUID(dst, &m.flh, m.cfg.Scope, typ, m.env)
	m.counts.UIDs[UIDv4]++
	return nil
}

// RawUID derives the current raw UID of one first-level hash at nowMs
// (§3.3, §3.4), as token generation, validation and logout need it, and
// reports the version it derived (UIDv2, UIDv3 or UIDv4).
func (c *Config) RawUID(snap *store.Snapshot, flh *[32]byte, typ identity.Type, nowMs int64) (identity.RawUID, int, error) {
	table := snap.Salts.At(nowMs).Table
	e := table.Entry(identity.BucketIndex(flh, table.Len()))
	if e.CurrentSalt != "" {
		if c.IdentityV3 {
			return identity.RawUIDv3(flh, e.CurrentSalt, c.Scope, typ), UIDv3, nil
		}
		return identity.RawUIDv2(flh, e.CurrentSalt), UIDv2, nil
	}
	if !e.CurrentKey.Valid {
		return identity.RawUID{}, 0, fmt.Errorf("salt bucket %d has neither salt nor key material", e.ID)
	}
	k, err := snap.Salts.V4Key(e.CurrentKey)
	if err != nil {
		return identity.RawUID{}, 0, err
	}
	env, _ := identity.ParseEnvironment(snap.Runtime.IdentityEnvironment)
	return k.RawUID(flh, c.Scope, typ, env), UIDv4, nil
}

// bytesString views b as a string without copying, for read-only calls that
// do not retain it. b must not change while the string is in use.
func bytesString(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}
