package api

import (
	"encoding/json"
	"io"
	"net/http"
)

// handleHealthcheck is GET /ops/healthcheck (§2.13), the readiness probe:
// 200 "OK" when the operator can answer correctly, otherwise 503 with the
// reasons, one "<component>: <reason>" per line, as the reference does.
func (s *Server) handleHealthcheck(w http.ResponseWriter, _ *http.Request) error {
	ok, reason := true, ""
	if s.opt.Health != nil {
		ok, reason = s.opt.Health.Healthy()
	} else if !s.opt.Store.Load().Complete() {
		ok, reason = false, "store: no data loaded yet"
	}
	writeProbe(w, ok, reason)
	return nil
}

// handleLive is GET /ops/live, the liveness probe: 200 "OK" unless the
// process is wedged. Core outages and stale stores never fail it.
func (s *Server) handleLive(w http.ResponseWriter, _ *http.Request) error {
	ok, reason := true, ""
	if s.opt.Liveness != nil {
		ok, reason = s.opt.Liveness.Live()
	}
	writeProbe(w, ok, reason)
	return nil
}

func writeProbe(w http.ResponseWriter, ok bool, reason string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if !ok {
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, reason)
		return
	}
	w.WriteHeader(http.StatusOK)
	io.WriteString(w, "OK")
}

// handleStatus is GET /ops/status: the operator's detailed state as JSON
// (readiness, degraded conditions, store versions and ages, attestation
// expiry, last errors). It holds no secrets, tokens or DII.
func (s *Server) handleStatus(w http.ResponseWriter, _ *http.Request) error {
	b, err := json.MarshalIndent(s.opt.Status.Status(), "", "  ")
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, append(b, '\n'))
	return nil
}
