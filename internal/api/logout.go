package api

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/uid2-private-operator/uid2-operator/internal/identity"
	"github.com/uid2-private-operator/uid2-operator/internal/optout"
)

// msgLogoutInvalid is the /v2/token/logout 400 message. The reference
// appends Java's toString of its parsed input, which is "null" when the input
// is missing and an unreproducible object id otherwise (§2.4); "null" is used
// for every invalid input, which also keeps DII out of the answer. Clients
// match this text; do not change.
const msgLogoutInvalid = "Invalid Token presented null"

// logoutOK is the success body of /v2/token/logout.
const logoutOK = `{"optout":"OK"}`

// errNoLogouts means the operator has no opt-out service to send logouts to.
var errNoLogouts = errors.New("logout: no opt-out service configured")

// handleLogout is POST /v2/token/logout (§2.4, role OPTOUT): it records an
// opt-out for the identity's first-level hash and current raw UID.
func (s *Server) handleLogout(req *v2Request) ([]byte, error) {
	invalid := &Error{HTTP: http.StatusBadRequest, Status: statusInvalidToken, Message: msgLogoutInvalid}
	in, err := s.parseIdentityRequest(req.payload)
	if err == errPayloadJSON {
		return nil, err
	} else if err != nil {
		return nil, invalid
	}
	flh := identity.FirstLevelHash(in.Hash, req.snap.Salts.FirstLevel())
	raw, err := s.rawUID(req.snap, &flh, in.Kind.Type(), req.now.UnixMilli())
	if err != nil {
		return nil, plainError(http.StatusInternalServerError, err)
	}
	if s.opt.Logouts == nil {
		return nil, plainError(http.StatusInternalServerError, errNoLogouts)
	}
	l := optout.Logout{FLH: flh, AdvertisingID: raw.Bytes(), TraceID: req.header.Get("UID-Trace-Id")}
	// Optional audit fields, forwarded as given (camelCase clientIp).
	l.Email, l.Phone, l.ClientIP = in.Audit()
	if err := s.opt.Logouts.Logout(req.ctx, l); err != nil {
		return nil, plainError(http.StatusInternalServerError, fmt.Errorf("logout: %w", err))
	}
	return success([]byte(logoutOK)), nil
}
