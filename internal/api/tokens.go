package api

import (
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/uid2-private-operator/uid2-operator/internal/aesgcm"
	"github.com/uid2-private-operator/uid2-operator/internal/b64"
	"github.com/uid2-private-operator/uid2-operator/internal/envelope"
	"github.com/uid2-private-operator/uid2-operator/internal/identity"
	"github.com/uid2-private-operator/uid2-operator/internal/jsonw"
	"github.com/uid2-private-operator/uid2-operator/internal/metrics"
	"github.com/uid2-private-operator/uid2-operator/internal/optout"
	"github.com/uid2-private-operator/uid2-operator/internal/store"
	"github.com/uid2-private-operator/uid2-operator/internal/tcf"
	"github.com/uid2-private-operator/uid2-operator/internal/token"
)

// Privacy bits written into tokens (OP util/PrivacyBits.java).
const (
	privacyServerGenerated uint32 = 1
	privacyClientGenerated uint32 = 3
)

// deprecatedBefore is when tokens established earlier count as deprecated,
// which refresh answers with optout (§2.2 step 4).
var deprecatedBefore = time.Date(2021, time.March, 8, 17, 0, 0, 0, time.UTC).UnixMilli()

// handleGenerate is POST /v2/token/generate (§2.1).
func (s *Server) handleGenerate(req *v2Request) ([]byte, error) {
	in, err := s.parseIdentityRequest(req.payload)
	if err != nil {
		return nil, err
	}
	outcome := func(st metrics.TokenStatus) {
		s.opt.Metrics.TokenResponse(req.snap, req.client.SiteID, metrics.EndpointGenerate, st, platformOf(req.header))
	}
	fields, kind, ih := in.fields, in.kind, in.hash
	// EUID checks TCF consent whenever the key is present, even as null (§2.1 step 3).
	if given(fields.tcfConsent) && s.opt.Scope == identity.ScopeEUID {
		s.opt.Metrics.TCFUsed(req.client)
		c, err := tcf.Parse(valueString(fields.tcfConsent))
		if err != nil {
			outcome(metrics.TokenInvalidUserConsentString)
			return nil, &Error{HTTP: http.StatusBadRequest, Status: statusClientError, Message: msgUserConsentInvalid, Err: err}
		}
		if !c.Allows(s.opt.TCFVendorID, tcf.EUIDPurposes) {
			outcome(metrics.TokenInsufficientUserConsent)
			return statusResponse(statusInsufficientUser), nil
		}
	}
	salts := req.snap.Salts
	flh := identity.FirstLevelHash(ih, salts.FirstLevel())
	if s.optouts.OptedOut(kind.Type(), &flh, salts.FirstLevel(), optout.ForGenerate) {
		outcome(metrics.TokenOptOut)
		return statusResponse(statusOptout), nil
	}
	nowMs := req.now.UnixMilli()
	resp, err := s.appendIdentityResponse(req.responseBuf(identityResponseSize), req.snap, issueParams{
		typ: kind.Type(), flh: flh, siteID: req.client.SiteID,
		privacyBits: privacyServerGenerated, established: nowMs, nowMs: nowMs,
	})
	if err != nil {
		outcome(failureStatus(err))
		return nil, err
	}
	outcome(metrics.TokenSuccess)
	return resp, nil
}

// failureStatus is the token-response status of an issue failure.
func failureStatus(err error) metrics.TokenStatus {
	if e, ok := err.(*Error); ok && e.Message == msgNoActiveKey {
		return metrics.TokenNoActiveKey
	}
	return metrics.TokenUnknown
}

// issueParams describes the identity to issue tokens for.
type issueParams struct {
	typ         identity.Type
	flh         [32]byte
	siteID      int32
	privacyBits uint32
	established int64
	nowMs       int64
}

// identityResponseSize is room for the answer of generate and refresh,
// {"body":<identity>,"status":"success"} (about 1.1 KB), so it is built in
// one buffer without growing.
const identityResponseSize = 1536

// appendIdentityResponse appends the success answer of generate and refresh
// for p to dst: the response is built once, where it will be sealed.
func (s *Server) appendIdentityResponse(dst []byte, snap *store.Snapshot, p issueParams) ([]byte, error) {
	dst = append(dst, `{"body":`...)
	dst, err := s.appendIssue(dst, snap, p)
	if err != nil {
		return nil, err
	}
	return append(dst, `,"status":"success"}`...), nil
}

// issue returns the identity response body for p (see appendIssue).
func (s *Server) issue(snap *store.Snapshot, p issueParams) ([]byte, error) {
	return s.appendIssue(make([]byte, 0, identityResponseSize), snap, p)
}

// issueScratchSize holds a refresh response key and an inner refresh token.
const issueScratchSize = 32 + token.RefreshV3Len + 128

// appendIssue appends the identity response body (§4.7) for p to buf: the
// advertising token, the wrapped refresh token and the expiry times, in the
// order the reference writes them.
func (s *Server) appendIssue(buf []byte, snap *store.Snapshot, p issueParams) ([]byte, error) {
	rc := snap.Runtime
	nowSec := p.nowMs / 1000
	ring := snap.Keyring
	master, err := ring.MasterKey(nowSec)
	if err != nil {
		return nil, noActiveKey(err)
	}
	site, err := ring.SiteKey(p.siteID, nowSec)
	if err != nil {
		s.opt.Metrics.KeysetLookup(snap, p.siteID, metrics.KeysetNotFound)
		return nil, noActiveKey(err)
	}
	s.opt.Metrics.KeysetLookup(snap, p.siteID, keysetStatusOf(snap, site, p.siteID))
	refresh, err := ring.RefreshKey(nowSec)
	if err != nil {
		return nil, noActiveKey(err)
	}
	raw, err := s.rawUID(snap, &p.flh, p.typ, p.nowMs)
	if err != nil {
		return nil, plainError(http.StatusInternalServerError, err)
	}
	s.opt.Metrics.RefreshServed(snap, p.siteID)

	identityExpires := p.nowMs + rc.IdentityTokenExpiresAfterSeconds*1000
	refreshExpires := p.nowMs + rc.RefreshTokenExpiresAfterSeconds*1000
	refreshFrom := p.nowMs + rc.RefreshIdentityTokenAfterSeconds*1000

	buf = append(buf, `{"advertising_token":"`...)
	adv := token.Advertising{
		Scope: s.opt.Scope, Type: p.typ, Expires: identityExpires, Created: p.nowMs,
		OperatorType: 1, SiteID: p.siteID, PrivacyBits: p.privacyBits,
		Established: p.established, Refreshed: p.nowMs, RawUID: raw.Bytes(),
	}
	buf, err = token.AppendAdvertisingV4(buf, &adv, master.Key, site.Key, s.rand)
	if err != nil {
		return nil, plainError(http.StatusInternalServerError, fmt.Errorf("advertising token: %w", err))
	}
	rt := token.Refresh{
		Scope: s.opt.Scope, Type: p.typ, Expires: refreshExpires, Created: p.nowMs,
		OperatorType: 1, SiteID: p.siteID, PrivacyBits: p.privacyBits,
		Established: p.established, FirstLevelHash: p.flh,
	}
	// The inner refresh token and the response key are built in a pooled
	// scratch buffer (local arrays would escape to the heap through the
	// io.Reader calls) and cleared before it goes back.
	scratch := s.bufs.Get(issueScratchSize)[:issueScratchSize]
	defer func() {
		clear(scratch)
		s.bufs.Put(scratch)
	}()
	rrk := (*[32]byte)(scratch[:32])
	inner, err := token.AppendRefreshV3(scratch[32:32], &rt, refresh.Key, s.rand)
	if err != nil {
		return nil, plainError(http.StatusInternalServerError, fmt.Errorf("refresh token: %w", err))
	}
	buf = append(buf, `","refresh_token":"`...)
	// With enable_v2_encryption off the reference hands out the inner token
	// and no refresh_response_key (V2PayloadHandler#passThrough, §1.6).
	if s.opt.DisableV2Encryption {
		buf = append(buf, inner...)
	} else {
		if _, err := io.ReadFull(s.rand, rrk[:]); err != nil {
			return nil, plainError(http.StatusInternalServerError, err)
		}
		buf, err = token.WrapRefresh(buf, inner, rrk, s.opt.Scope, refresh.Key, s.rand)
		if err != nil {
			return nil, plainError(http.StatusInternalServerError, fmt.Errorf("refresh wrapper: %w", err))
		}
	}
	buf = append(buf, `","identity_expires":`...)
	buf = jsonw.AppendInt(buf, identityExpires)
	buf = append(buf, `,"refresh_expires":`...)
	buf = jsonw.AppendInt(buf, refreshExpires)
	buf = append(buf, `,"refresh_from":`...)
	buf = jsonw.AppendInt(buf, refreshFrom)
	if !s.opt.DisableV2Encryption {
		buf = append(buf, `,"refresh_response_key":"`...)
		buf = b64.AppendEncode(buf, rrk[:])
		buf = append(buf, '"')
	}
	buf = append(buf, '}')
	return buf, nil
}

// rawUID derives the current raw UID of a first-level hash (§3.3, §3.4).
func (s *Server) rawUID(snap *store.Snapshot, flh *[32]byte, typ identity.Type, nowMs int64) (identity.RawUID, error) {
	raw, version, err := s.mapping.RawUID(snap, flh, typ, nowMs)
	if err == nil {
		s.opt.Metrics.RawUIDDerived(version)
	}
	return raw, err
}

// keysetStatusOf says whether key, the site key issued for site, came from
// the site's own keyset or the fallback publisher's (KeyManager).
func keysetStatusOf(snap *store.Snapshot, key *store.KeysetKey, site int32) metrics.KeysetStatus {
	if ks := snap.Keysets.Get(key.KeysetID); ks != nil && ks.SiteID == site {
		return metrics.KeysetFound
	}
	return metrics.KeysetFallback
}

// refreshResult is the outcome of a refresh before rendering (§2.2 step 5).
type refreshResult uint8

const (
	refreshed refreshResult = iota
	refreshOptout
	refreshInvalid
	refreshExpired
)

// handleRefresh is POST /v2/token/refresh (§2.2): no envelope, optional
// authentication, a response sealed with the old refresh_response_key.
func (s *Server) handleRefresh(w http.ResponseWriter, r *http.Request) error {
	// The body is copied into strings below, so its buffer is recycled.
	body, snap, err := s.readRequestInto(r, s.bufs.Get(bodyCap(r)+1))
	defer s.bufs.Put(body)
	if err != nil {
		return err
	}
	caller := snap.Clients.ByKey(bearerKey(r))
	authenticated := caller != nil
	if authenticated {
		noteClient(w, snap, caller)
	}
	now := s.now()
	nowMs := now.UnixMilli()

	inner := string(body)
	var responseKey []byte
	wrapped := len(body) == token.WrapperLen && !s.opt.DisableV2Encryption
	if wrapped {
		inner, responseKey, err = token.UnwrapRefresh(string(body), snap.Keyring.TokenKey)
		if err != nil {
			return clientError(token.WrapperMessage(err))
		}
	}

	buf := s.bufs.Get(identityResponseSize)
	defer s.bufs.Put(buf)
	out, resp, err := s.refresh(buf, snap, inner, nowMs)
	s.recordRefresh(w, r, snap, caller, &out, err, nowMs)
	if err != nil {
		if !authenticated {
			return &Error{HTTP: http.StatusBadRequest, Status: statusError, Message: msgRefreshError, Err: err}
		}
		return err
	}
	switch out.result {
	case refreshOptout:
		resp = statusResponse(statusOptout)
	case refreshInvalid, refreshExpired:
		if !authenticated {
			return &Error{HTTP: http.StatusBadRequest, Status: statusError, Message: msgRefreshError}
		}
		if out.result == refreshExpired {
			return &Error{HTTP: http.StatusBadRequest, Status: statusExpiredToken, Message: msgExpiredToken}
		}
		return &Error{HTTP: http.StatusBadRequest, Status: statusInvalidToken, Message: msgInvalidTokenRefresh}
	}
	if !wrapped {
		writeJSON(w, http.StatusOK, resp)
		return nil
	}
	sealed, err := aesgcm.Seal(s.bufs.Get(len(resp)+aesgcm.Overhead), responseKey, resp, s.rand)
	if err != nil {
		return plainError(http.StatusInternalServerError, err)
	}
	s.writeEnvelope(w, envelope.ModeFor(r.Header.Get("Content-Type")), sealed)
	s.bufs.Put(sealed)
	return nil
}

// recordRefresh reports a refresh the way the reference does: the site is
// the caller's, else the token's; nothing is counted without one.
func (s *Server) recordRefresh(w http.ResponseWriter, r *http.Request, snap *store.Snapshot, caller *store.Client,
	out *refreshOutcome, err error, nowMs int64) {
	m := s.opt.Metrics
	if m == nil {
		return
	}
	site, known := out.token.SiteID, out.decoded
	if caller != nil {
		site, known = caller.SiteID, true
	} else if known {
		noteSite(w, snap, site)
	}
	if !known {
		return
	}
	if out.decoded {
		m.RefreshReceived(snap, site, out.token.Version == token.VersionV2)
	}
	if caller != nil {
		m.SDKVersion(snap, caller, "/v2/token/refresh", header(r, headerClientVersion))
	}
	st := metrics.TokenSuccess
	switch {
	case err != nil:
		st = failureStatus(err)
	case out.result == refreshOptout:
		st = metrics.TokenOptOut
	case out.result == refreshInvalid:
		st = metrics.TokenInvalidToken
	case out.result == refreshExpired:
		st = metrics.TokenExpiredToken
	}
	m.TokenResponse(snap, site, metrics.EndpointRefresh, st, platformOf(r.Header))
	if st == metrics.TokenSuccess {
		contact := ""
		if caller != nil {
			contact = caller.Contact
		}
		since := time.Duration(nowMs-out.token.Created) * time.Millisecond
		ttl := time.Duration(snap.Runtime.IdentityTokenExpiresAfterSeconds) * time.Second
		m.RefreshedAfter(snap, site, contact, header(r, "Origin") != "", since, ttl)
	}
}

// refreshOutcome is a refresh's result and, when it decoded, the token.
type refreshOutcome struct {
	result  refreshResult
	decoded bool
	token   token.Refresh
}

// refresh decodes an inner refresh token and, when it is still good, issues
// a new identity with the token's publisher, privacy bits and established
// time (§2.2 step 4, §4.8). The success answer is appended to dst.
func (s *Server) refresh(dst []byte, snap *store.Snapshot, inner string, nowMs int64) (refreshOutcome, []byte, error) {
	rt, err := token.DecodeRefresh(inner, snap.Keyring.TokenKey)
	if err != nil {
		return refreshOutcome{result: refreshInvalid}, nil, nil
	}
	out := refreshOutcome{decoded: true, token: rt}
	switch {
	case rt.Scope != s.opt.Scope:
		out.result = refreshInvalid
		return out, nil, nil
	case rt.Established < deprecatedBefore:
		out.result = refreshOptout
		return out, nil, nil
	case rt.Expires < nowMs:
		out.result = refreshExpired
		return out, nil, nil
	}
	if s.optouts.OptedOut(rt.Type, &rt.FirstLevelHash, snap.Salts.FirstLevel(), optout.ForRefresh) {
		out.result = refreshOptout
		return out, nil, nil
	}
	resp, err := s.appendIdentityResponse(dst, snap, issueParams{
		typ: rt.Type, flh: rt.FirstLevelHash, siteID: rt.SiteID,
		privacyBits: rt.PrivacyBits, established: rt.Established, nowMs: nowMs,
	})
	if err != nil {
		return out, nil, err
	}
	out.result = refreshed
	return out, resp, nil
}

// handleValidate is POST /v2/token/validate (§2.3).
func (s *Server) handleValidate(req *v2Request) ([]byte, error) {
	in, err := s.parseIdentityRequest(req.payload)
	if err != nil {
		s.opt.Metrics.Validated(req.snap, req.client.SiteID, metrics.ValidateInvalidInput)
		return nil, err
	}
	fields, kind, ih := in.fields, in.kind, in.hash
	nowMs := req.now.UnixMilli()
	flh := identity.FirstLevelHash(ih, req.snap.Salts.FirstLevel())
	raw, err := s.rawUID(req.snap, &flh, kind.Type(), nowMs)
	if err != nil {
		return nil, plainError(http.StatusInternalServerError, err)
	}
	if !set(fields.token) {
		s.opt.Metrics.Validated(req.snap, req.client.SiteID, metrics.ValidateInvalidInput)
		return nil, clientError(msgInvalidToken)
	}
	adv, err := token.DecodeAdvertising(valueString(fields.token), req.snap.Keyring.TokenKey)
	if err != nil {
		s.opt.Metrics.Validated(req.snap, req.client.SiteID, metrics.ValidateInvalidToken)
		return nil, &Error{HTTP: http.StatusBadRequest, Status: statusClientError, Message: msgInvalidToken, Err: err}
	}
	siteKey := req.snap.Keyring.Key(adv.SiteKeyID)
	var tokenSite int32 = -1 << 31
	if siteKey != nil {
		if ks := req.snap.Keysets.Get(siteKey.KeysetID); ks != nil {
			tokenSite = ks.SiteID
		}
	}
	if tokenSite != req.client.SiteID {
		s.opt.Metrics.Validated(req.snap, req.client.SiteID, metrics.ValidateUnauthorized)
		return nil, clientError(msgUnauthorisedValidate)
	}
	if string(adv.RawUID) == string(raw.Bytes()) {
		s.opt.Metrics.Validated(req.snap, req.client.SiteID, metrics.ValidateMatch)
		return success([]byte("true")), nil
	}
	s.opt.Metrics.Validated(req.snap, req.client.SiteID, metrics.ValidateMismatch)
	return success([]byte("false")), nil
}
