package api

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/uid2-private-operator/uid2-operator/internal/admission"
	"github.com/uid2-private-operator/uid2-operator/internal/ratelog"
	"github.com/uid2-private-operator/uid2-operator/internal/store"
)

// Busy answer of the bulk routes. No SDK retries or tells 429 from 503
// (the Java and Python clients throw on any non-2xx), so the status is for
// the infrastructure and people between them: 429 with Retry-After says
// "this client should slow down", is not a server error in 5xx alerts and
// SLOs, and does not make load balancers or ingress controllers mark the
// pod unhealthy or retry the 1 MiB request elsewhere (README "Memory").
const (
	statusTooManyRequests = "too_many_requests"
	msgBusy               = "Too many large requests in progress; retry after the Retry-After delay"
)

// Admission bounds the bulk routes (identity map v2/v3, buckets, opt-out
// status) in two stages. Memory is charged each request's estimated cost
// (admission.RequestCost of its Content-Length; a chunked body counts as
// the body limit) before the body is read; CPU gives it one of a few slots
// once the body is in, so a client that sends its body slowly holds memory
// budget but never a CPU slot. Only requests that carry an API key of the
// route's roles are admitted; the rest go straight to their 401 (or 413).
// A stage that stays full for its queue wait answers 429 with Retry-After.
// Nil controllers admit everything.
type Admission struct {
	Memory *admission.Controller
	CPU    *admission.Controller
}

// admits reports whether r is subject to admission: the store is loaded
// and r's API key holds one of roles (a header lookup; the body is unread).
func (s *Server) admits(r *http.Request, roles store.Role) bool {
	snap := s.opt.Store.Load()
	if !snap.Complete() {
		return false
	}
	_, err := authenticate(r, snap, roles)
	return err == nil
}

// admit acquires cost from ctl for r, or answers 429 with Retry-After.
func (s *Server) admit(w http.ResponseWriter, r *http.Request, ctl *admission.Controller, cost int64, stage string) (release func(), err error) {
	if ctl == nil {
		return func() {}, nil
	}
	release, err = ctl.Acquire(r.Context(), cost)
	if err == nil {
		return release, nil
	}
	if errors.Is(err, admission.ErrBusy) {
		s.busyLog.Warn(s.log, s.now(), "bulk requests rejected with 429: admission full for the queue wait",
			"path", r.URL.Path, "stage", stage, "interval", ratelog.Interval.String())
	}
	w.Header().Set("Retry-After", strconv.Itoa(max(1, int(ctl.Config().MaxWait.Seconds()+0.999))))
	return nil, &Error{HTTP: http.StatusTooManyRequests, Status: statusTooManyRequests, Message: msgBusy, Err: err}
}
