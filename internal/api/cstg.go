package api

import (
	"net/http"

	"github.com/uid2-private-operator/uid2-operator/internal/aesgcm"
	"github.com/uid2-private-operator/uid2-operator/internal/b64"
	"github.com/uid2-private-operator/uid2-operator/internal/cstg"
	"github.com/uid2-private-operator/uid2-operator/internal/identity"
	"github.com/uid2-private-operator/uid2-operator/internal/issuer"
	"github.com/uid2-private-operator/uid2-operator/internal/metrics"
	"github.com/uid2-private-operator/uid2-operator/internal/metrics/httpmetrics"
	"github.com/uid2-private-operator/uid2-operator/internal/optout"
)

// CSTG statuses of the reference (§2.12); clients match this text; do not
// change.
const (
	statusInvalidHTTPOrigin = "invalid_http_origin"
	statusInvalidAppName    = "invalid_app_name"
)

// cstgStatus maps a CSTG answer to its token-response status.
func cstgStatus(err error, optedOut bool) metrics.TokenStatus {
	switch e := err.(type) {
	case nil:
		if optedOut {
			return metrics.TokenOptOut
		}
		return metrics.TokenSuccess
	case *cstg.Error:
		return metrics.CSTGStatus(e.Message)
	case *Error:
		if e.Message == msgInvalidIdentifier {
			return metrics.TokenBadPayload
		}
	}
	return failureStatus(err)
}

// cstgError gives a rejection of the cstg package its HTTP face.
func cstgError(err error) error {
	ce, ok := err.(*cstg.Error)
	if !ok {
		return err
	}
	e := &Error{HTTP: http.StatusBadRequest, Status: statusClientError, Message: ce.Message, Err: ce.Err}
	switch ce.Kind {
	case cstg.Unauthorized:
		e.HTTP, e.Status = http.StatusUnauthorized, statusUnauthorized
	case cstg.BadOrigin:
		e.HTTP, e.Status = http.StatusForbidden, statusInvalidHTTPOrigin
	case cstg.BadAppName:
		e.HTTP, e.Status = http.StatusForbidden, statusInvalidAppName
	}
	return e
}

// handleCSTG is POST /v2/token/client-generate (§2.12): no API key; the
// request is decrypted with the ECDH secret of the subscription's server key
// and the client's ephemeral key, and the answer sealed with that secret.
// Checks run in the reference's order.
func (s *Server) handleCSTG(w http.ResponseWriter, r *http.Request) error {
	return cstgError(s.clientGenerate(w, r))
}

func (s *Server) clientGenerate(w http.ResponseWriter, r *http.Request) (err error) {
	body, snap, err := s.readRequest(r)
	if err != nil {
		return err
	}
	req, err := cstg.ParseRequest(body)
	if err != nil {
		return err
	}
	kp := snap.Keypairs.Get(req.SubscriptionID)
	if kp == nil {
		return clientError(cstg.MsgBadSubscription)
	}
	// From here the site is known: count the outcome (TokenResponseStatsCollector).
	optedOut := false
	defer func() {
		p := metrics.PlatformInApp
		if !req.HasApp {
			p = httpmetrics.Platform(r.Header)
		}
		s.opt.Metrics.TokenResponse(snap, kp.SiteID, metrics.EndpointCSTG, cstgStatus(err, optedOut), p)
	}()
	if kp.Disabled {
		return &cstg.Error{Kind: cstg.Unauthorized, Message: cstg.MsgUnauthorized}
	}
	if !s.opt.DisableCSTGDomainCheck {
		if err := cstg.CheckSite(snap.Sites.Get(kp.SiteID), &req, r.Header.Get("Origin")); err != nil {
			return err
		}
	}
	secret, plaintext, err := cstg.Open(kp, &req)
	if err != nil {
		return err
	}
	kind, value, err := cstg.Input(plaintext, !s.opt.DisablePhone)
	if err != nil {
		return err
	}
	ih, ok := identity.Parse(kind, value)
	if !ok {
		return clientError(msgInvalidIdentifier)
	}

	nowMs := s.now().UnixMilli()
	flh := identity.FirstLevelHash(ih, snap.Salts.FirstLevel())
	var resp []byte
	if optedOut = s.optouts.OptedOut(kind.Type(), &flh, snap.Salts.FirstLevel(), optout.ForGenerate); optedOut {
		resp = statusResponse(statusOptout)
	} else if resp, err = s.appendIdentityResponse(make([]byte, 0, identityResponseSize), snap, &issuer.Params{
		Type: kind.Type(), FLH: flh, SiteID: kp.SiteID, PrivacyBits: issuer.ClientGenerated, Established: nowMs, NowMs: nowMs}); err != nil {
		return err
	}

	sealed, err := aesgcm.Seal(make([]byte, 0, len(resp)+aesgcm.Overhead), secret, resp, s.rand)
	if err != nil {
		return plainError(http.StatusInternalServerError, err)
	}
	// The reference sets no Content-Type; a nil entry stops net/http from
	// sniffing one.
	w.Header()["Content-Type"] = nil
	w.WriteHeader(http.StatusOK)
	w.Write(b64.AppendEncode(make([]byte, 0, b64.EncodedLen(len(sealed))), sealed))
	return nil
}
