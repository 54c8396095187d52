package api

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/uid2-private-operator/uid2-operator/internal/admission"
	"github.com/uid2-private-operator/uid2-operator/internal/bufpool"
	"github.com/uid2-private-operator/uid2-operator/internal/envelope"
	"github.com/uid2-private-operator/uid2-operator/internal/jsonscan"
	"github.com/uid2-private-operator/uid2-operator/internal/jsonw"
	"github.com/uid2-private-operator/uid2-operator/internal/metrics/httpmetrics"
	"github.com/uid2-private-operator/uid2-operator/internal/store"
)

// v2Request is an authenticated, opened v2 request: what a v2Handler may
// use of it. The HTTP request itself is not exposed, so a handler cannot
// read the body again or write around the flow.
type v2Request struct {
	ctx     context.Context // the request's context: cancelled when the client goes
	header  http.Header     // the request headers, read-only
	client  *store.Client
	snap    *store.Snapshot
	payload []byte // request JSON object; nil when empty
	now     time.Time

	bufs     *bufpool.Pool
	prefixed bool // the handler built its answer on responseBuf
}

// v2Requests recycles v2Request values: handlers are called through a
// function value, so a request built on the stack would escape anyway.
var v2Requests = sync.Pool{New: func() any { return new(v2Request) }}

// newV2Request returns a pooled copy of r; free it when the answer is out.
func newV2Request(r v2Request) *v2Request {
	p := v2Requests.Get().(*v2Request)
	*p = r
	return p
}

// free clears r (it must not keep a request or a snapshot alive) and
// recycles it; handlers do not keep r once they return.
func (r *v2Request) free() {
	*r = v2Request{}
	v2Requests.Put(r)
}

// responseBuf returns a pooled buffer for the response JSON of at least n
// bytes, with envelope.ResponsePrefix bytes reserved in front so that the
// flow seals the answer where it was written instead of copying it. A
// handler that uses it returns the slice extended by appends, prefix and
// all. Large answers (identity map) use it; the rest return plain JSON.
func (r *v2Request) responseBuf(n int) []byte {
	r.prefixed = true
	return r.bufs.Get(envelope.ResponsePrefix + n + envelope.TagSize)[:envelope.ResponsePrefix]
}

// v2Handler handles an opened request and returns the response JSON (the
// whole {"body":…,"status":…} document) to be sealed, or an error to render.
//
// Buffer ownership: req.payload aliases the request body, which the flow
// recycles as soon as the handler returns, so a handler keeps
// no part of it. The returned slice becomes the flow's: it is sealed, written
// and recycled into the pool, so a handler returns a buffer it owns (one it
// made, or responseBuf's) and keeps no reference to it; a buffer from
// responseBuf must be the one returned (extended by appends), never dropped
// for another.
type v2Handler func(req *v2Request) ([]byte, error)

// v2 wraps h with the v2 flow of every enveloped endpoint: read the capped
// body, authenticate with one of roles, open the envelope (§1.4), call h, seal
// the response with the echoed nonce (§1.5.1).
func (s *Server) v2(roles store.Role, h v2Handler) func(http.ResponseWriter, *http.Request) error {
	return s.v2Flow(roles, h, 0)
}

// v2Bulk is v2 for the bulk handlers (identity map, buckets, opt-out
// status): they pass opt.Admission (memory before the body, a CPU slot
// after it). opts may add uncheckedPayload.
func (s *Server) v2Bulk(roles store.Role, h v2Handler, opts v2Options) func(http.ResponseWriter, *http.Request) error {
	return s.v2Flow(roles, h, opts|admitted)
}

// v2Options select variants of the v2 flow.
type v2Options uint8

const (
	// uncheckedPayload is for handlers that validate the whole payload as
	// they parse it and answer invalid JSON with msgPayloadNotJSON before
	// any other error (§1.4 step 7): the envelope's separate scan of the
	// payload is skipped, a measurable cost on 5,000-identity bodies.
	uncheckedPayload v2Options = 1 << iota
	admitted                   // see v2Bulk
)

// v2Flow reads every body into a pooled buffer, recycled when the request
// is answered: no v2 handler keeps any part of its payload once it returns
// (what outlives it, such as a logout's audit fields, is copied), so a
// flood of requests does not turn into a body of garbage each.
func (s *Server) v2Flow(roles store.Role, h v2Handler, opts v2Options) func(http.ResponseWriter, *http.Request) error {
	checkPayload := opts&uncheckedPayload == 0
	return func(w http.ResponseWriter, r *http.Request) error {
		var body []byte
		var snap *store.Snapshot
		var err error
		admit := false
		if opts&admitted != 0 {
			if admit = s.admits(r, roles); admit {
				cost := admission.RequestCost(r.ContentLength, MaxRequestBody)
				release, err := s.admit(w, r, s.opt.Admission.Memory, cost, "memory")
				if err != nil {
					return err
				}
				defer release()
			}
		}
		body, snap, err = s.readRequestInto(r, s.bufs.Get(bodyCap(r)))
		defer s.bufs.Put(body)
		if err != nil {
			return err
		}
		client, err := authenticate(r, snap, roles)
		if err != nil {
			// The reference's AuthMiddleware names the caller before it
			// checks the roles: a 401 for a known key (a missing role, a
			// disabled key) counts under that key's contact and site.
			if snap.Clients != nil {
				if known := snap.Clients.ByKey(bearerKey(r)); known != nil {
					httpmetrics.NoteClient(w, snap, known)
				}
			}
			return err
		}
		httpmetrics.NoteClient(w, snap, client)
		if admit {
			release, err := s.admit(w, r, s.opt.Admission.CPU, 0, "cpu")
			if err != nil {
				return err
			}
			defer release()
		}
		now := s.now()
		if s.opt.DisableV2Encryption {
			var payload []byte
			if len(body) > 0 {
				payload = body
				if checkPayload && !jsonscan.ValidObject(payload) {
					return clientError(msgPayloadNotJSON)
				}
			}
			v2r := newV2Request(v2Request{ctx: r.Context(), header: r.Header, client: client, snap: snap, payload: payload, now: now, bufs: &s.bufs})
			defer v2r.free()
			resp, err := h(v2r)
			if err != nil {
				return err
			}
			json := resp
			if v2r.prefixed {
				json = resp[envelope.ResponsePrefix:]
			}
			writeJSON(w, http.StatusOK, json)
			s.bufs.Put(resp)
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
		v2r := newV2Request(v2Request{ctx: r.Context(), header: r.Header, client: client, snap: snap, payload: req.Payload, now: now, bufs: &s.bufs})
		defer v2r.free()
		resp, err := h(v2r)
		if err != nil {
			return err
		}
		// The answer is written once: sealed where the handler built it
		// (responseBuf) and, for text, base64-encoded on its way out.
		var sealed []byte
		if v2r.prefixed {
			sealed, err = envelope.SealInPlace(resp, client.Cipher, req.Nonce, now, s.rand)
		} else {
			sealed, err = envelope.AppendSealWith(s.bufs.Get(len(resp)+64), client.Cipher, req.Nonce, resp, now, s.rand)
			s.bufs.Put(resp)
		}
		if err != nil {
			return plainError(http.StatusInternalServerError, err)
		}
		s.writeEnvelope(w, req.Mode, sealed)
		s.bufs.Put(sealed)
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
	return jsonw.AppendStatus(nil, status, "")
}

// writeEnvelope writes a sealed response for mode with its Content-Length:
// binary as is, text base64-encoded in chunks through a small pooled
// buffer, so a large answer is never held twice.
func (s *Server) writeEnvelope(w http.ResponseWriter, mode envelope.Mode, sealed []byte) {
	setContent(w.Header(), contentTypeValue(mode), envelope.BodyLen(mode, sealed))
	w.WriteHeader(http.StatusOK)
	var scratch []byte
	if mode == envelope.ModeText {
		scratch = s.bufs.Get(envelope.ScratchLen(len(sealed)))
	}
	// An error means the client is gone; net/http logs nothing more useful.
	scratch, _ = envelope.WriteBody(w, mode, sealed, scratch)
	s.bufs.Put(scratch)
}
