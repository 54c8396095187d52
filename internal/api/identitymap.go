package api

import (
	"fmt"
	"net/http"
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

// Identity-map wire messages (operator-api.md §1.3, §2.5, §2.6); clients match
// this text; do not change.
const (
	msgMapMixedMissing      = "Required Parameter Missing: one or more of [email, email_hash, phone, phone_hash] must be specified"
	msgMapMixedMissingEmail = "Required Parameter Missing: one or more of [email, email_hash] must be specified"
	msgIncorrectFormat      = "Incorrect request format"
	msgMapV2Unknown         = "Unknown error while mapping identity v2"
	msgMapV3Unknown         = "Unknown error while mapping identity v3"
	msgInvalidLinkID        = "Invalid link_id"
	msgMustBeArraySuffix    = " must be an array"
)

// v3Order is the order of the four arrays in a /v3/identity/map body: the
// iteration order of the reference's HashMap (§2.6). SDKs do not depend on it.
var v3Order = [...]identity.InputKind{identity.KindEmailHash, identity.KindPhone, identity.KindPhoneHash, identity.KindEmail}

// unknownError is a JSON 500 {"message":…,"status":"unknown"}.
func unknownError(msg string, err error) *Error {
	return &Error{HTTP: http.StatusInternalServerError, Status: statusUnknown, Message: msg, Err: err}
}

// serviceLinkOK is the service-link check of the MAPPER endpoints (§1.3).
// This operator runs with validate_service_links=false (private operators
// receive no services), where the reference rejects every client that has a
// service id and accepts all others, link_id or not.
func serviceLinkOK(c *store.Client) error {
	if c.ServiceID != 0 {
		return &Error{HTTP: http.StatusUnauthorized, Status: statusUnauthorized, Message: msgInvalidLinkID,
			Err: fmt.Errorf("client %s has service id %d but service links are not validated", c.KeyID, c.ServiceID)}
	}
	return nil
}

// handleIdentityMapV2 is POST /v2/identity/map (§2.5).
//
// Two reference artefacts are kept byte for byte: an empty payload and a
// JSON null array element answer 500 {"message":"Unknown error while mapping
// identity v2","status":"unknown"}, because that is what deployed clients of
// the reference observe; a 400 would be friendlier but would differ.
func (s *Server) handleIdentityMapV2(req *v2Request) ([]byte, error) {
	if req.payload == nil {
		return nil, mandated(unknownError(msgMapV2Unknown, fmt.Errorf("empty payload")))
	}
	var vals [4]jsonscan.Value // by InputKind-1; Vert.x keeps the last duplicate
	if err := jsonscan.Members(req.payload, func(key []byte, v jsonscan.Value) bool {
		if k, ok := identity.ParseInputKind(bytesString(key)); ok {
			vals[k-1] = v
		}
		return true
	}); err != nil {
		return nil, clientError(msgPayloadNotJSON)
	}
	// The reference checks the keys in order and answers with the first
	// problem it meets; phone keys are not even read without phone support.
	var chosen identity.InputKind
	seen := false
	for _, f := range s.inputs {
		v := vals[f.kind-1]
		switch v.Kind {
		case jsonscan.Invalid, jsonscan.Null:
			continue
		case jsonscan.Array:
		default:
			return nil, clientError(f.key + msgMustBeArraySuffix)
		}
		seen = true
		if it := jsonscan.Elements(v.Raw); hasNext(&it) {
			if chosen != 0 {
				return nil, s.exactlyOneMissing()
			}
			chosen = f.kind
		}
	}
	if !seen {
		return nil, s.exactlyOneMissing()
	}
	var arr []byte
	if chosen != 0 {
		arr = vals[chosen-1].Raw
	}
	for it := jsonscan.Elements(arr); ; {
		v, ok := it.Next()
		if !ok {
			break
		}
		if v.Kind == jsonscan.Null {
			return nil, mandated(unknownError(msgMapV2Unknown, fmt.Errorf("null element in %s", chosen)))
		}
	}
	if err := serviceLinkOK(req.client); err != nil {
		return nil, err
	}
	if chosen == 0 {
		return success([]byte(`{"mapped":[]}`)), nil
	}

	m := s.newMapper(req)
	// An answer is about four times its input (identifier, raw UID, bucket).
	out := req.responseBuf(4*len(arr) + 256)
	out = append(out, `{"body":{"mapped":[`...)
	var unmapped []byte
	for it := jsonscan.Elements(arr); ; {
		v, ok := it.Next()
		if !ok {
			break
		}
		in := m.input(v)
		reason, err := m.mapOne(chosen, in)
		if err != nil {
			return nil, unknownError(msgMapV2Unknown, err)
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
		if out[len(out)-1] != '[' {
			out = append(out, ',')
		}
		out = append(out, `{"identifier":`...)
		out = jsonw.AppendString(out, bytesString(in))
		out = append(out, `,"advertising_id":"`...)
		out = m.current.AppendBase64(out)
		out = append(out, `","bucket_id":`...)
		m.bucketID = m.set.AppendBucketID(m.bucketID[:0], m.entry.ID)
		out = jsonw.AppendString(out, bytesString(m.bucketID))
		out = append(out, '}')
	}
	out = append(out, ']')
	if len(unmapped) > 0 {
		out = append(out, `,"unmapped":[`...)
		out = append(out, unmapped...)
		out = append(out, ']')
	}
	m.report("/v2/identity/map", req.client)
	return append(out, `},"status":"success"}`...), nil
}

func (s *Server) exactlyOneMissing() *Error {
	if s.opt.DisablePhone {
		return clientError(msgExactlyOneInputEmail)
	}
	return clientError(msgExactlyOneInput)
}

func hasNext(it *jsonscan.Iter) bool {
	_, ok := it.Next()
	return ok
}

// handleIdentityMapV3 is POST /v3/identity/map (§2.6): any mix of the four
// input arrays, parsed strictly like the reference's Jackson record, answered
// with index-aligned arrays of {"u","p","r"} or {"e"} objects.
func (s *Server) handleIdentityMapV3(req *v2Request) ([]byte, error) {
	missing := msgMapMixedMissing
	if s.opt.DisablePhone {
		missing = msgMapMixedMissingEmail
	}
	if req.payload == nil {
		return nil, clientError(missing)
	}
	// The route skips the envelope's JSON check (v2Validating): Members
	// validates the whole payload even after the callback stops, so a syntax
	// error anywhere wins over a bad member earlier in it, as in §1.4 step 7.
	var vals [4]jsonscan.Value
	members, bad := 0, false
	if err := jsonscan.Members(req.payload, func(key []byte, v jsonscan.Value) bool {
		members++
		k, ok := identity.ParseInputKind(bytesString(key))
		if !ok || (v.Kind != jsonscan.Array && v.Kind != jsonscan.Null) {
			bad = true // unknown property (link_id too) or not an array
			return false
		}
		vals[k-1] = v // a later duplicate wins, null clears
		return true
	}); err != nil {
		return nil, clientError(msgPayloadNotJSON)
	}
	switch {
	case members == 0:
		return nil, clientError(missing)
	case bad:
		return nil, clientError(msgIncorrectFormat)
	}
	if req.client.ServiceID != 0 {
		// Parsing errors come before the service-link answer.
		for _, v := range vals {
			if !validV3Array(v) {
				return nil, clientError(msgIncorrectFormat)
			}
		}
		return nil, serviceLinkOK(req.client)
	}

	m := s.newMapper(req)
	out := req.responseBuf(4*len(req.payload) + 256)
	out = append(out, `{"body":{`...)
	for i, kind := range v3Order {
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, '"')
		out = append(out, kind.String()...)
		out = append(out, `":[`...)
		if v := vals[kind-1]; v.Kind == jsonscan.Array {
			first := true
			for it := jsonscan.Elements(v.Raw); ; {
				e, ok := it.Next()
				if !ok {
					break
				}
				switch e.Kind {
				case jsonscan.String, jsonscan.Number, jsonscan.Bool:
				default: // null, arrays and objects do not make a String[]
					return nil, clientError(msgIncorrectFormat)
				}
				if !first {
					out = append(out, ',')
				}
				first = false
				var err error
				if out, err = m.appendV3(out, kind, m.input(e)); err != nil {
					return nil, unknownError(msgMapV3Unknown, err)
				}
			}
		}
		out = append(out, ']')
	}
	m.report("/v3/identity/map", req.client)
	return append(out, `},"status":"success"}`...), nil
}

// validV3Array reports whether v is absent, null, or an array of scalars
// that Jackson coerces to strings.
func validV3Array(v jsonscan.Value) bool {
	if v.Kind != jsonscan.Array {
		return true
	}
	for it := jsonscan.Elements(v.Raw); ; {
		e, ok := it.Next()
		if !ok {
			return true
		}
		if e.Kind != jsonscan.String && e.Kind != jsonscan.Number && e.Kind != jsonscan.Bool {
			return false
		}
	}
}

// appendV3 appends the /v3/identity/map answer for one input (§2.6, §3.5).
func (m *mapper) appendV3(dst []byte, kind identity.InputKind, in []byte) ([]byte, error) {
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

// Reasons an identity is not mapped (OP IdentityMapResponseType).
const (
	reasonOptout  = "optout"
	reasonInvalid = "invalid identifier"
)

// mapper maps the identities of one request against one snapshot, clock and
// salt table. It is not safe for concurrent use.
type mapper struct {
	s      *Server
	set    *store.SaltSet
	table  *salts.Table
	flSalt string
	env    identity.Environment
	nowMs  int64

	// The last identity mapOne mapped: its first-level hash, salt bucket
	// and current raw UID, and the previous raw UID appendV3 derives. They
	// live here, in the one heap-allocated mapper, because the opt-out
	// lookup takes the hash, and V4Key.SetRawUID the UID, through an
	// interface, which would move a local to the heap for every identity.
	flh      [32]byte
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

	// Counts for the identity-map metrics: inputs by kind (InputKind-1),
	// results, and raw UIDs derived by version.
	perKind                   [4]int
	mapped, optedOut, invalid int
	uids                      [rawUIDVersions]int
}

// report records the request's counts on the server's metrics.
func (m *mapper) report(path string, c *store.Client) {
	met := m.s.opt.Metrics
	met.identityMap(c, path, &m.perKind, m.invalid, m.optedOut)
	met.rawUIDsDerived(&m.uids)
}

func (s *Server) newMapper(req *v2Request) *mapper {
	nowMs := req.now.UnixMilli()
	env, _ := identity.ParseEnvironment(req.snap.Runtime.IdentityEnvironment)
	return &mapper{
		s: s, set: req.snap.Salts, table: req.snap.Salts.At(nowMs).Table,
		flSalt: req.snap.Salts.FirstLevel(), env: env, nowMs: nowMs,
		scratch: make([]byte, 0, 256), bucketID: make([]byte, 0, 32),
	}
}

// input returns an element as the string the reference reads with getString
// or Jackson's String coercion: a string's decoded content, or the JSON text
// of any other value. The result aliases the payload or m.scratch and is
// valid until the next call.
func (m *mapper) input(v jsonscan.Value) []byte {
	if v.Kind != jsonscan.String {
		return v.Raw
	}
	return v.Content(m.scratch[:0])
}

// mapOne normalizes and maps one input of the given kind (§2.14, §2.15 with
// the generate flavour, §3.2–§3.4). It returns the reason the input is not
// mapped, or "" with m.flh, m.entry and m.current set.
func (m *mapper) mapOne(kind identity.InputKind, in []byte) (reason string, err error) {
	m.perKind[kind-1]++
	h, ok := identity.Parse(kind, bytesString(in))
	if !ok {
		m.invalid++
		return reasonInvalid, nil
	}
	m.flh = identity.FirstLevelHash(h, m.flSalt)
	m.hasText = false
	typ := kind.Type()
	if m.s.optouts.OptedOut(typ, &m.flh, m.flSalt, optout.ForGenerate) {
		m.optedOut++
		return reasonOptout, nil
	}
	m.mapped++
	m.entry = m.table.Entry(identity.BucketIndex(&m.flh, m.table.Len()))
	return "", m.uid(&m.current, typ, m.entry.CurrentSalt, m.entry.CurrentKey)
}

// uid sets *dst to the raw UID of m.flh for one side of a bucket (§3.4):
// from the salt when there is one (v2, or v3 with identity_v3), else v4 from
// the key material. dst must be a field of m, so that v4 does not allocate.
func (m *mapper) uid(dst *identity.RawUID, typ identity.Type, salt string, km salts.KeyMaterial) error {
	if salt != "" {
		if !m.hasText {
			m.flhText.Set(&m.flh)
			m.hasText = true
		}
		if m.s.opt.IdentityV3 {
			*dst = m.flhText.RawUIDv3(salt, m.s.opt.Scope, typ)
			m.uids[rawUIDv3]++
		} else {
			*dst = m.flhText.RawUIDv2(salt)
			m.uids[rawUIDv2]++
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
	k.SetRawUID(dst, &m.flh, m.s.opt.Scope, typ, m.env)
	m.uids[rawUIDv4]++
	return nil
}

// bytesString views b as a string without copying, for read-only calls that
// do not retain it. b must not change while the string is in use.
func bytesString(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}
