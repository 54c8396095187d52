package api

import (
	"errors"
	"net/http"
	"time"

	"github.com/uid2-private-operator/uid2-operator/internal/envelope"
	"github.com/uid2-private-operator/uid2-operator/internal/store"
)

// v2Request is an authenticated, opened v2 request.
type v2Request struct {
	http    *http.Request
	client  *store.Client
	snap    *store.Snapshot
	payload []byte // request JSON object; nil when empty
	now     time.Time
}

// v2Handler handles an opened request and returns the response JSON (the
// whole {"body":…,"status":…} document) to be sealed.
type v2Handler func(req *v2Request) ([]byte, error)

// v2 wraps h with the v2 flow of every enveloped endpoint: read the capped
// body, authenticate with one of roles, open the envelope (§1.4), call h, seal
// the response with the echoed nonce (§1.5.1).
func (s *Server) v2(roles store.Role, h v2Handler) func(http.ResponseWriter, *http.Request) error {
	return s.v2Flow(roles, h, true)
}

// v2Validating is v2 for handlers that validate the whole payload while they
// parse it and answer invalid JSON with msgPayloadNotJSON before any other
// error (§1.4 step 7); it skips the envelope's separate scan of the payload,
// a measurable cost on 5,000-identity bodies.
func (s *Server) v2Validating(roles store.Role, h v2Handler) func(http.ResponseWriter, *http.Request) error {
	return s.v2Flow(roles, h, false)
}

func (s *Server) v2Flow(roles store.Role, h v2Handler, checkPayload bool) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		body, snap, err := s.readRequest(r)
		if err != nil {
			return err
		}
		client, err := authenticate(r, snap, roles)
		if err != nil {
			return err
		}
		noteClient(w, snap, client)
		now := s.now()
		if s.opt.DisableV2Encryption {
			var payload []byte
			if len(body) > 0 {
				payload = body
				if checkPayload && !isJSONObject(payload) {
					return clientError(msgPayloadNotJSON)
				}
			}
			resp, err := h(&v2Request{http: r, client: client, snap: snap, payload: payload, now: now})
			if err != nil {
				return err
			}
			writeJSON(w, http.StatusOK, resp)
			s.bufs.put(resp)
			return nil
		}
		mode := envelope.ModeFor(r.Header.Get("Content-Type"))
		open := envelope.OpenInPlace
		if !checkPayload {
			open = envelope.OpenInPlaceUnchecked
		}
		req, err := open(body, mode, client.Cipher, now, s.opt.Scope)
		if err != nil {
			var ee *envelope.Error
			if errors.As(err, &ee) {
				return clientError(ee.Message)
			}
			return err
		}
		resp, err := h(&v2Request{http: r, client: client, snap: snap, payload: req.Payload, now: now})
		if err != nil {
			return err
		}
		sealed, err := envelope.AppendSealWith(s.bufs.get(len(resp)+64), client.Cipher, req.Nonce, resp, now, s.rand)
		s.bufs.put(resp)
		if err != nil {
			return plainError(http.StatusInternalServerError, err)
		}
		out := sealed
		if req.Mode != envelope.ModeBinary {
			out = envelope.AppendBody(s.bufs.get(len(sealed)*4/3+4), req.Mode, sealed)
			s.bufs.put(sealed)
		}
		w.Header().Set("Content-Type", req.Mode.ContentType())
		w.WriteHeader(http.StatusOK)
		w.Write(out)
		s.bufs.put(out)
		return nil
	}
}

// msgPayloadNotJSON is §1.4 step 7's message, also used when encryption is off.
const msgPayloadNotJSON = envelope.MsgPayloadNotJSON

// success wraps a body JSON value as {"body":<body>,"status":"success"}.
func success(body []byte) []byte {
	out := make([]byte, 0, len(body)+30)
	out = append(out, `{"body":`...)
	out = append(out, body...)
	return append(out, `,"status":"success"}`...)
}

// statusResponse is {"status":"<status>"} for encrypted no-body answers.
func statusResponse(status string) []byte {
	return appendErrorBody(nil, status, "")
}
