// Package issuer is the token endpoints' domain (operator-api.md §2.1–§2.3,
// §2.12, §4.7–§4.8): it reads their small request objects (one identity
// input), issues an identity (advertising token, wrapped refresh token and
// the identity response body, in the order the reference writes it),
// decides and performs refreshes, and validates advertising tokens. It does
// no I/O and knows nothing of HTTP: api decodes the envelope, calls in here
// with the request's snapshot and time, renders the outcome and reports
// Facts to the metrics.
package issuer

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/uid2-private-operator/uid2-operator/internal/b64"
	"github.com/uid2-private-operator/uid2-operator/internal/bufpool"
	"github.com/uid2-private-operator/uid2-operator/internal/identity"
	"github.com/uid2-private-operator/uid2-operator/internal/jsonw"
	"github.com/uid2-private-operator/uid2-operator/internal/mapping"
	"github.com/uid2-private-operator/uid2-operator/internal/optout"
	"github.com/uid2-private-operator/uid2-operator/internal/store"
	"github.com/uid2-private-operator/uid2-operator/internal/token"
)

// Privacy bits written into tokens (OP util/PrivacyBits.java).
const (
	ServerGenerated uint32 = 1
	ClientGenerated uint32 = 3
)

// deprecatedBefore is when tokens established earlier count as deprecated,
// which refresh answers with optout (§2.2 step 4).
var deprecatedBefore = time.Date(2021, time.March, 8, 17, 0, 0, 0, time.UTC).UnixMilli()

// ErrNoActiveKey wraps the reason a master, site or refresh key is missing
// (the reference's 500 "No active encryption key available").
var ErrNoActiveKey = errors.New("issuer: no active encryption key")

// Config is the operator configuration the issuer needs; read-only once in
// use.
type Config struct {
	Scope identity.Scope
	// Plain hands out the inner refresh token and no refresh_response_key
	// (enable_v2_encryption=false; V2PayloadHandler#passThrough, §1.6).
	Plain   bool
	Mapping *mapping.Config // raw UID derivation
	OptOuts *optout.Policy
	Rand    io.Reader     // token nonces and refresh response keys
	Bufs    *bufpool.Pool // scratch for refresh tokens and keys
}

// Params describes the identity to issue tokens for.
type Params struct {
	Type        identity.Type
	FLH         [32]byte
	SiteID      int32
	PrivacyBits uint32
	Established int64 // epoch ms
	NowMs       int64
}

// Keyset says where the site key of an issue came from (KeyManager).
type Keyset uint8

// Keyset lookups.
const (
	KeysetNotLooked Keyset = iota
	KeysetOwn              // the site's own keyset
	KeysetFallback         // the fallback publisher's
	KeysetNotFound
)

// Facts are what an operation looked up and derived, for the metrics; they
// are set as far as the operation got, also when it fails.
type Facts struct {
	Keyset     Keyset
	UIDDerived bool
	UIDVersion int  // mapping.UIDv2, UIDv3 or UIDv4, when UIDDerived
	Served     bool // a refresh token was issued
}

// issueScratchSize holds a refresh response key and an inner refresh token.
const issueScratchSize = 32 + token.RefreshV3Len + 128

// AppendIssue appends the identity response body (§4.7) for p to buf: the
// advertising token, the wrapped refresh token and the expiry times, in the
// order the reference writes them. Errors wrap ErrNoActiveKey when a key is
// missing.
func (c *Config) AppendIssue(buf []byte, snap *store.Snapshot, p *Params, f *Facts) ([]byte, error) {
	rc := snap.Runtime
	nowSec := p.NowMs / 1000
	ring := snap.Keyring
	master, err := ring.MasterKey(nowSec)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoActiveKey, err)
	}
	site, err := ring.SiteKey(p.SiteID, nowSec)
	if err != nil {
		f.Keyset = KeysetNotFound
		return nil, fmt.Errorf("%w: %w", ErrNoActiveKey, err)
	}
	f.Keyset = KeysetFallback
	if ks := snap.Keysets.Get(site.KeysetID); ks != nil && ks.SiteID == p.SiteID {
		f.Keyset = KeysetOwn
	}
	refresh, err := ring.RefreshKey(nowSec)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoActiveKey, err)
	}
	raw, err := c.RawUID(snap, &p.FLH, p.Type, p.NowMs, f)
	if err != nil {
		return nil, err
	}
	f.Served = true

	identityExpires := p.NowMs + rc.IdentityTokenExpiresAfterSeconds*1000
	refreshExpires := p.NowMs + rc.RefreshTokenExpiresAfterSeconds*1000
	refreshFrom := p.NowMs + rc.RefreshIdentityTokenAfterSeconds*1000

	buf = append(buf, `{"advertising_token":"`...)
	adv := token.Advertising{
		Scope: c.Scope, Type: p.Type, Expires: identityExpires, Created: p.NowMs,
		OperatorType: 1, SiteID: p.SiteID, PrivacyBits: p.PrivacyBits,
		Established: p.Established, Refreshed: p.NowMs, RawUID: raw.Bytes(),
	}
	buf, err = token.AppendAdvertisingV4(buf, &adv, master.Key, site.Key, c.Rand)
	if err != nil {
		return nil, fmt.Errorf("advertising token: %w", err)
	}
	rt := token.Refresh{
		Scope: c.Scope, Type: p.Type, Expires: refreshExpires, Created: p.NowMs,
		OperatorType: 1, SiteID: p.SiteID, PrivacyBits: p.PrivacyBits,
		Established: p.Established, FirstLevelHash: p.FLH,
	}
	// The inner refresh token and the response key are built in a pooled
	// scratch buffer (local arrays would escape to the heap through the
	// io.Reader calls) and cleared before it goes back.
	scratch := c.Bufs.Get(issueScratchSize)[:issueScratchSize]
	defer func() {
		clear(scratch)
		c.Bufs.Put(scratch)
	}()
	rrk := (*[32]byte)(scratch[:32])
	inner, err := token.AppendRefreshV3(scratch[32:32], &rt, refresh.Key, c.Rand)
	if err != nil {
		return nil, fmt.Errorf("refresh token: %w", err)
	}
	buf = append(buf, `","refresh_token":"`...)
	if c.Plain {
		buf = append(buf, inner...)
	} else {
		if _, err := io.ReadFull(c.Rand, rrk[:]); err != nil {
			return nil, err
		}
		buf, err = token.WrapRefresh(buf, inner, rrk, c.Scope, refresh.Key, c.Rand)
		if err != nil {
			return nil, fmt.Errorf("refresh wrapper: %w", err)
		}
	}
	buf = append(buf, `","identity_expires":`...)
	buf = jsonw.AppendInt(buf, identityExpires)
	buf = append(buf, `,"refresh_expires":`...)
	buf = jsonw.AppendInt(buf, refreshExpires)
	buf = append(buf, `,"refresh_from":`...)
	buf = jsonw.AppendInt(buf, refreshFrom)
	if !c.Plain {
		buf = append(buf, `,"refresh_response_key":"`...)
		buf = b64.AppendEncode(buf, rrk[:])
		buf = append(buf, '"')
	}
	return append(buf, '}'), nil
}

// RawUID derives the current raw UID of a first-level hash (§3.3, §3.4)
// and notes its version in f.
func (c *Config) RawUID(snap *store.Snapshot, flh *[32]byte, typ identity.Type, nowMs int64, f *Facts) (identity.RawUID, error) {
	raw, version, err := c.Mapping.RawUID(snap, flh, typ, nowMs)
	if err == nil {
		f.UIDDerived, f.UIDVersion = true, version
	}
	return raw, err
}

// RefreshResult is the outcome of a refresh before rendering (§2.2 step 5).
type RefreshResult uint8

// Refresh results.
const (
	Refreshed RefreshResult = iota
	RefreshOptout
	RefreshInvalid
	RefreshExpired
)

// Refresh is a refresh's result and, when the token decoded, the token.
type Refresh struct {
	Result  RefreshResult
	Decoded bool
	Token   token.Refresh
}

// Refresh decodes an inner refresh token and decides (§2.2 step 4): a
// token still good is Refreshed, and Params gives the identity to issue
// with the token's publisher, privacy bits and established time (§4.8).
// inner is decoded in place (overwritten); the result keeps no part of it.
func (c *Config) Refresh(snap *store.Snapshot, inner []byte, nowMs int64) Refresh {
	rt, err := token.DecodeRefreshInPlace(inner, snap.Keyring.TokenKey)
	if err != nil {
		return Refresh{Result: RefreshInvalid}
	}
	out := Refresh{Decoded: true, Token: rt}
	switch {
	case rt.Scope != c.Scope:
		out.Result = RefreshInvalid
	case rt.Established < deprecatedBefore:
		out.Result = RefreshOptout
	case rt.Expires < nowMs:
		out.Result = RefreshExpired
	case c.OptOuts.OptedOut(rt.Type, &rt.FirstLevelHash, snap.Salts.FirstLevel(), optout.ForRefresh):
		out.Result = RefreshOptout
	default:
		out.Result = Refreshed
	}
	return out
}

// Params returns the identity a Refreshed token is issued again for at nowMs.
func (r *Refresh) Params(nowMs int64) *Params {
	rt := &r.Token
	return &Params{Type: rt.Type, FLH: rt.FirstLevelHash, SiteID: rt.SiteID,
		PrivacyBits: rt.PrivacyBits, Established: rt.Established, NowMs: nowMs}
}

// Validation is the outcome of validating an advertising token (§2.3).
type Validation uint8

// Validations.
const (
	Match Validation = iota
	Mismatch
	Unauthorized // the token's site is not the caller's
	InvalidToken
)

// Validate reports whether the advertising token text was issued to site
// for the raw UID raw. A token that does not decode is InvalidToken with
// the decoding error.
func Validate(snap *store.Snapshot, text string, site int32, raw *identity.RawUID) (Validation, error) {
	adv, err := token.DecodeAdvertising(text, snap.Keyring.TokenKey)
	if err != nil {
		return InvalidToken, err
	}
	var tokenSite int32 = -1 << 31
	if k := snap.Keyring.Key(adv.SiteKeyID); k != nil {
		if ks := snap.Keysets.Get(k.KeysetID); ks != nil {
			tokenSite = ks.SiteID
		}
	}
	switch {
	case tokenSite != site:
		return Unauthorized, nil
	case string(adv.RawUID) == string(raw.Bytes()):
		return Match, nil
	}
	return Mismatch, nil
}
