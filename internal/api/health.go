package api

import (
	"io"
	"net/http"
)

// handleHealthcheck is GET /ops/healthcheck (§2.13): 200 "OK" when healthy,
// otherwise 503 with the reason.
func (s *Server) handleHealthcheck(w http.ResponseWriter, _ *http.Request) error {
	ok, reason := true, ""
	if s.opt.Health != nil {
		ok, reason = s.opt.Health.Healthy()
	} else if !s.opt.Store.Load().Complete() {
		ok, reason = false, "store: no data loaded yet"
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if !ok {
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, reason)
		return nil
	}
	w.WriteHeader(http.StatusOK)
	io.WriteString(w, "OK")
	return nil
}
