package standin

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
)

// coreError is a refused request as Core answers it: a JSON body with a
// status and a message or reason, or plain text when status is "".
type coreError struct {
	code    int
	status  string
	message string
	reason  string
	text    string
}

func (e *coreError) Error() string {
	return fmt.Sprintf("%d %s %s%s%s", e.code, e.status, e.message, e.reason, e.text)
}

func unauthorized(reason string) error {
	return &coreError{code: http.StatusUnauthorized, status: "unauthorized", reason: reason}
}

// jsonError is {"status": status, "message": message}; message is left
// out when "".
func jsonError(code int, status, message string) error {
	return &coreError{code: code, status: status, message: message}
}

func notFound() error { return &coreError{code: http.StatusNotFound, text: "not found"} }

// adapt turns an error-returning handler into an http.Handler: a
// *coreError is rendered as Core renders it, anything else is a 500.
func (s *Server) adapt(h func(http.ResponseWriter, *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := h(w, r)
		if err == nil {
			return
		}
		var e *coreError
		if !errors.As(err, &e) {
			s.opt.Log.Error("stand-in request failed", "path", r.URL.Path, "err", err)
			e = &coreError{code: http.StatusInternalServerError, text: "error"}
		}
		if e.status == "" {
			http.Error(w, e.text, e.code)
			return
		}
		body := map[string]string{"status": e.status}
		if e.message != "" {
			body["message"] = e.message
		}
		if e.reason != "" {
			body["reason"] = e.reason
		}
		writeJSON(w, e.code, body)
	})
}

// writeJSON writes v as the JSON response with status code. The write
// error is the client's, so it is not reported.
func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}
