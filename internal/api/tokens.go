package api

import (
	"errors"
	"net/http"

	"github.com/uid2-private-operator/uid2-operator/internal/aesgcm"
	"github.com/uid2-private-operator/uid2-operator/internal/envelope"
	"github.com/uid2-private-operator/uid2-operator/internal/identity"
	"github.com/uid2-private-operator/uid2-operator/internal/issuer"
	"github.com/uid2-private-operator/uid2-operator/internal/metrics"
	"github.com/uid2-private-operator/uid2-operator/internal/metrics/httpmetrics"
	"github.com/uid2-private-operator/uid2-operator/internal/optout"
	"github.com/uid2-private-operator/uid2-operator/internal/store"
	"github.com/uid2-private-operator/uid2-operator/internal/tcf"
	"github.com/uid2-private-operator/uid2-operator/internal/token"
)

// handleGenerate is POST /v2/token/generate (§2.1).
func (s *Server) handleGenerate(req *v2Request) ([]byte, error) {
	in, err := s.parseIdentityRequest(req.payload)
	if err != nil {
		return nil, err
	}
	outcome := func(st metrics.TokenStatus) {
		s.opt.Metrics.TokenResponse(req.snap, req.client.SiteID, metrics.EndpointGenerate, st, httpmetrics.Platform(req.header))
	}
	// EUID checks TCF consent whenever the key is present, even as null (§2.1 step 3).
	if consent, has := in.TCFConsent(); has && s.opt.Scope == identity.ScopeEUID {
		s.opt.Metrics.TCFUsed(req.client)
		c, err := tcf.Parse(consent)
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
	flh := identity.FirstLevelHash(in.Hash, salts.FirstLevel())
	if s.optouts.OptedOut(in.Kind.Type(), &flh, salts.FirstLevel(), optout.ForGenerate) {
		outcome(metrics.TokenOptOut)
		return statusResponse(statusOptout), nil
	}
	nowMs := req.now.UnixMilli()
	resp, err := s.appendIdentityResponse(req.responseBuf(identityResponseSize), req.snap, &issuer.Params{
		Type: in.Kind.Type(), FLH: flh, SiteID: req.client.SiteID,
		PrivacyBits: issuer.ServerGenerated, Established: nowMs, NowMs: nowMs})
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

// identityResponseSize is room for the answer of generate and refresh,
// {"body":<identity>,"status":"success"} (about 1.1 KB), so it is built in
// one buffer without growing.
const identityResponseSize = 1536

// appendIdentityResponse appends the success answer of generate and refresh
// for p to dst: the response is built once, where it will be sealed.
func (s *Server) appendIdentityResponse(dst []byte, snap *store.Snapshot, p *issuer.Params) ([]byte, error) {
	dst, err := s.appendIssue(append(dst, `{"body":`...), snap, p)
	if err != nil {
		return nil, err
	}
	return append(dst, `,"status":"success"}`...), nil
}

// appendIssue appends the identity response body (issuer.AppendIssue) and
// reports what the issue looked up.
func (s *Server) appendIssue(dst []byte, snap *store.Snapshot, p *issuer.Params) ([]byte, error) {
	var f issuer.Facts
	dst, err := s.issuer.AppendIssue(dst, snap, p, &f)
	s.opt.Metrics.Issued(snap, p.SiteID, &f)
	switch {
	case err == nil:
		return dst, nil
	case errors.Is(err, issuer.ErrNoActiveKey):
		return nil, noActiveKey(err)
	}
	return nil, plainError(http.StatusInternalServerError, err)
}

// rawUID derives the current raw UID of a first-level hash (§3.3, §3.4).
func (s *Server) rawUID(snap *store.Snapshot, flh *[32]byte, typ identity.Type, nowMs int64) (identity.RawUID, error) {
	var f issuer.Facts
	raw, err := s.issuer.RawUID(snap, flh, typ, nowMs, &f)
	s.opt.Metrics.Issued(snap, 0, &f) // only the raw UID version is set: no site needed
	return raw, err
}

// handleRefresh is POST /v2/token/refresh (§2.2): no envelope, optional
// authentication, a response sealed with the old refresh_response_key.
func (s *Server) handleRefresh(w http.ResponseWriter, r *http.Request) error {
	// Nothing keeps the body past the answer (the inner token is copied or
	// decoded out of it), so its buffer is recycled.
	body, snap, err := s.readRequestInto(r, s.bufs.Get(bodyCap(r)+1))
	defer s.bufs.Put(body)
	if err != nil {
		return err
	}
	caller := snap.Clients.ByKey(bearerKey(r))
	authenticated := caller != nil
	if authenticated {
		httpmetrics.NoteClient(w, snap, caller)
	}
	now := s.now()
	nowMs := now.UnixMilli()

	var inner, responseKey []byte
	wrapped := len(body) == token.WrapperLen && !s.opt.DisableV2Encryption
	if wrapped {
		// The wrapper is opened inside the body buffer, which outlives every
		// use of inner and responseKey (both may point into it, without overlapping).
		inner, responseKey, err = token.UnwrapRefreshInPlace(body, snap.Keyring.TokenKey)
		if err != nil {
			return clientError(token.WrapperMessage(err))
		}
	} else {
		inner = body // decoded in place: nothing reads the body afterwards
	}

	buf := s.bufs.Get(identityResponseSize)
	defer s.bufs.Put(buf)
	out := s.issuer.Refresh(snap, inner, nowMs)
	var resp []byte
	if out.Result == issuer.Refreshed {
		resp, err = s.appendIdentityResponse(buf, snap, out.Params(nowMs))
	}
	s.recordRefresh(w, r, snap, caller, &out, err, nowMs)
	if err != nil {
		if !authenticated {
			return &Error{HTTP: http.StatusBadRequest, Status: statusError, Message: msgRefreshError, Err: err}
		}
		return err
	}
	switch out.Result {
	case issuer.RefreshOptout:
		resp = statusResponse(statusOptout)
	case issuer.RefreshInvalid, issuer.RefreshExpired:
		if !authenticated {
			return &Error{HTTP: http.StatusBadRequest, Status: statusError, Message: msgRefreshError}
		}
		if out.Result == issuer.RefreshExpired {
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

// recordRefresh reports a refresh (metrics.Refreshed); an unauthenticated
// request is counted for the token's site.
func (s *Server) recordRefresh(w http.ResponseWriter, r *http.Request, snap *store.Snapshot, caller *store.Client,
	out *issuer.Refresh, err error, nowMs int64) {
	if caller == nil && out.Decoded {
		httpmetrics.NoteSite(w, snap, out.Token.SiteID)
	}
	s.opt.Metrics.Refreshed(&metrics.Refresh{Snap: snap, Caller: caller, Out: out, Failure: failureStatus(err), Failed: err != nil,
		Platform: httpmetrics.Platform(r.Header), ClientVersion: httpmetrics.Header(r.Header, httpmetrics.ClientVersion),
		Origin: httpmetrics.Header(r.Header, "Origin") != "", NowMs: nowMs})
}

// handleValidate is POST /v2/token/validate (§2.3).
func (s *Server) handleValidate(req *v2Request) ([]byte, error) {
	result := func(r metrics.ValidateResult) { s.opt.Metrics.Validated(req.snap, req.client.SiteID, r) }
	in, err := s.parseIdentityRequest(req.payload)
	if err != nil {
		result(metrics.ValidateInvalidInput)
		return nil, err
	}
	flh := identity.FirstLevelHash(in.Hash, req.snap.Salts.FirstLevel())
	raw, err := s.rawUID(req.snap, &flh, in.Kind.Type(), req.now.UnixMilli())
	if err != nil {
		return nil, plainError(http.StatusInternalServerError, err)
	}
	text, ok := in.Token()
	if !ok {
		result(metrics.ValidateInvalidInput)
		return nil, clientError(msgInvalidToken)
	}
	switch v, err := issuer.Validate(req.snap, text, req.client.SiteID, &raw); v {
	case issuer.InvalidToken:
		result(metrics.ValidateInvalidToken)
		return nil, &Error{HTTP: http.StatusBadRequest, Status: statusClientError, Message: msgInvalidToken, Err: err}
	case issuer.Unauthorized:
		result(metrics.ValidateUnauthorized)
		return nil, clientError(msgUnauthorisedValidate)
	case issuer.Match:
		result(metrics.ValidateMatch)
		return success([]byte("true")), nil
	}
	result(metrics.ValidateMismatch)
	return success([]byte("false")), nil
}

// parseIdentityRequest decodes a generate/validate/logout payload, selects
// its one identity input and validates it (§2.1 steps 1–2). Errors are
// errPayloadJSON, the exactly-one message, or errBadIdentifier.
func (s *Server) parseIdentityRequest(payload []byte) (issuer.Request, error) {
	in, err := issuer.ParseRequest(payload, !s.opt.DisablePhone)
	switch {
	case err == nil:
		return in, nil
	case errors.Is(err, issuer.ErrPayloadJSON):
		return in, errPayloadJSON
	case errors.Is(err, issuer.ErrBadIdentifier):
		return in, errBadIdentifier
	}
	return in, s.exactlyOneMissing()
}

// Steps of parseIdentityRequest that can fail, for callers (logout) that
// answer some of them differently.
var (
	errPayloadJSON   = clientError(msgPayloadNotJSON)
	errBadIdentifier = clientError(msgInvalidIdentifier)
)
