package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/uid2-private-operator/uid2-operator/internal/keyshare"
)

// msgUnexpectedSiteID prefixes the /v2/key/latest 401 message; clients match
// this text; do not change.
const msgUnexpectedSiteID = "Unexpected client site id "

// The key endpoints are cold (SDKs call them every few minutes), so their
// documents are keyshare values rendered with encoding/json.

// handleKeysLatest is POST /v2/key/latest (§2.9): a bare array of the
// accessible keys with the owning keyset's site id.
func (s *Server) handleKeysLatest(req *v2Request) ([]byte, error) {
	keys, err := keyshare.Latest(req.snap, req.client)
	if errors.Is(err, keyshare.ErrReservedSite) {
		return nil, &Error{HTTP: http.StatusUnauthorized, Status: statusInvalidClient,
			Message: msgUnexpectedSiteID + strconv.Itoa(int(req.client.SiteID))}
	}
	return renderSuccess(keys, err)
}

// handleKeysSharing is POST /v2/key/sharing (§2.10, §5.2).
func (s *Server) handleKeysSharing(req *v2Request) ([]byte, error) {
	return renderSuccess(keyshare.NewSharing(req.snap, req.client, &s.keys))
}

// handleKeysBidstream is POST /v2/key/bidstream (§2.11, §5.2).
func (s *Server) handleKeysBidstream(req *v2Request) ([]byte, error) {
	return renderSuccess(keyshare.NewBidstream(req.snap, req.client, &s.keys), nil)
}

// renderSuccess renders body with encoding/json as {"body":…,"status":
// "success"}, or fails with err as a 500. HTML characters are left as is,
// as Jackson writes them.
func renderSuccess(body any, err error) ([]byte, error) {
	if err != nil {
		return nil, plainError(http.StatusInternalServerError, err)
	}
	var b bytes.Buffer
	b.WriteString(`{"body":`)
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(body); err != nil {
		return nil, plainError(http.StatusInternalServerError, err)
	}
	b.Truncate(b.Len() - 1) // Encode's newline
	b.WriteString(`,"status":"success"}`)
	return b.Bytes(), nil
}
