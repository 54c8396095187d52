package api

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/uid2-private-operator/uid2-operator/internal/admission"
)

// Busy answer of the heavy routes. No SDK retries or tells 429 from 503
// (the Java and Python clients throw on any non-2xx), so the status is for
// the infrastructure and people between them: 429 with Retry-After says
// "this client should slow down", is not a server error in 5xx alerts and
// SLOs, and does not make load balancers or ingress controllers mark the
// pod unhealthy or retry the 1 MiB request elsewhere (README "Memory").
const (
	statusTooManyRequests = "too_many_requests"
	msgBusy               = "Too many large requests in progress; retry after the Retry-After delay"
)

// heavy admits h's requests through opt.Admission before their body is
// read, charging the cost estimated from Content-Length (a chunked body is
// charged the body limit). A request that does not get in within the
// queue wait is answered 429 with Retry-After.
func (s *Server) heavy(h func(http.ResponseWriter, *http.Request) error) func(http.ResponseWriter, *http.Request) error {
	ctl := s.opt.Admission
	if ctl == nil {
		return h
	}
	retryAfter := strconv.Itoa(max(1, int((ctl.Config().MaxWait.Seconds() + 0.999))))
	return func(w http.ResponseWriter, r *http.Request) error {
		release, err := ctl.Acquire(r.Context(), admission.RequestCost(r.ContentLength, MaxRequestBody))
		if err != nil {
			if errors.Is(err, admission.ErrBusy) {
				s.busyLog.warn(s.log, s.now(), "heavy requests rejected with 429: admission budget or slots full",
					"path", r.URL.Path, "interval", rateLogInterval.String())
			}
			w.Header().Set("Retry-After", retryAfter)
			return &Error{HTTP: http.StatusTooManyRequests, Status: statusTooManyRequests, Message: msgBusy, Err: err}
		}
		defer release()
		return h(w, r)
	}
}
