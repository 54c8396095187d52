package api

import (
	"fmt"
	"net/http"
)

// Error is a failed request with two faces: Status and Message go to the
// client; Err (which may carry internal detail, never DII) goes to the log.
type Error struct {
	HTTP    int
	Status  string // the JSON "status"; empty for plain-text errors
	Message string // the JSON "message", omitted when empty
	Err     error
	// Mandated marks a 5xx the reference sends for bad client input, kept
	// for compatibility: it is logged as a rate-limited warning, not as an
	// ERROR, since any client can cause it at its request rate.
	Mandated bool
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%d %s: %s: %v", e.HTTP, e.Status, e.Message, e.Err)
	}
	return fmt.Sprintf("%d %s: %s", e.HTTP, e.Status, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// Response statuses (operator-api.md §1.5.2); clients match this text.
const (
	statusSuccess          = "success"
	statusOptout           = "optout"
	statusClientError      = "client_error"
	statusInvalidToken     = "invalid_token"
	statusExpiredToken     = "expired_token"
	statusError            = "error"
	statusUnauthorized     = "unauthorized"
	statusInvalidClient    = "invalid_client"
	statusUnknown          = "unknown"
	statusInsufficientUser = "insufficient_user_consent"
)

// Wire messages of the reference operator; clients match this text; do not change.
const (
	msgExactlyOneInput      = "Required Parameter Missing: exactly one of [email, email_hash, phone, phone_hash] must be specified"
	msgExactlyOneInputEmail = "Required Parameter Missing: exactly one of email or email_hash must be specified"
	msgInvalidIdentifier    = "Invalid Identifier"
	msgNoActiveKey          = "No active encryption key available"
	msgGenerateUnknown      = "Unknown error while generating token v2"
	msgRefreshError         = "Error refreshing token"
	msgInvalidTokenRefresh  = "Invalid Token presented"
	msgExpiredToken         = "Expired Token presented"
	msgRefreshUnknown       = "Unknown error while refreshing token v2"
	msgInvalidToken         = "Invalid token"
	msgUnauthorisedValidate = "Unauthorised to validate token"
	msgUserConsentInvalid   = "User consent is invalid"
)

func clientError(msg string) *Error {
	return &Error{HTTP: http.StatusBadRequest, Status: statusClientError, Message: msg}
}

func unauthorized() *Error {
	return &Error{HTTP: http.StatusUnauthorized, Status: statusUnauthorized}
}

func noActiveKey(err error) *Error {
	return &Error{HTTP: http.StatusInternalServerError, Status: statusUnknown, Message: msgNoActiveKey, Err: err}
}

// mandated marks e as a reference-mandated answer to bad input.
func mandated(e *Error) *Error {
	e.Mandated = true
	return e
}

// plainError is a framework-style failure answered with the HTTP reason
// phrase as text/plain (413, 500), like the reference's failure handler.
func plainError(code int, err error) *Error {
	return &Error{HTTP: code, Err: err}
}
