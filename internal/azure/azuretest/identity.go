package azuretest

import (
	"encoding/json"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// IMDSPath is the token path of IMDS (azure-aks.md §3.2).
const IMDSPath = "/metadata/identity/oauth2/token"

// Identity is a managed-identity token endpoint. It answers IMDS requests
// (GET IMDSPath with "Metadata: true") and App Service requests (any path
// with X-IDENTITY-HEADER equal to Header). The zero value is not usable;
// use NewIdentity.
type Identity struct {
	// Token is the access token handed out.
	Token string
	// Header is the secret App Service clients must send; "" refuses them.
	Header string

	mu sync.Mutex
	// failFirst requests fail with failStatus/failBody; failAlways for all.
	failFirst  int
	failAlways bool
	failStatus int
	failBody   string

	requests atomic.Int64
}

// NewIdentity returns an endpoint handing out token.
func NewIdentity(token, header string) *Identity {
	return &Identity{Token: token, Header: header}
}

// Fail makes every request answer status with body.
func (id *Identity) Fail(status int, body string) {
	id.mu.Lock()
	defer id.mu.Unlock()
	id.failAlways, id.failStatus, id.failBody = true, status, body
}

// FailFirst makes the next n requests answer status with body.
func (id *Identity) FailFirst(n, status int, body string) {
	id.mu.Lock()
	defer id.mu.Unlock()
	id.failFirst, id.failStatus, id.failBody = n, status, body
}

// Requests returns how many token requests arrived.
func (id *Identity) Requests() int { return int(id.requests.Load()) }

// IdentityNotFound is the IMDS answer when no identity is attached.
const IdentityNotFound = `{"error":"invalid_request","error_description":"Identity not found"}`

func (id *Identity) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id.requests.Add(1)
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.Header.Get("Metadata") == "true" && r.URL.Path == IMDSPath:
	case id.Header != "" && r.Header.Get("X-IDENTITY-HEADER") == id.Header:
	default:
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte(`{"error":"invalid_request","error_description":"Required metadata header not specified"}`))
		return
	}
	if r.URL.Query().Get("resource") == "" {
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte(`{"error":"invalid_request","error_description":"Required query variable 'resource' is missing"}`))
		return
	}
	id.mu.Lock()
	fail := id.failAlways || id.failFirst > 0
	if id.failFirst > 0 {
		id.failFirst--
	}
	status, body := id.failStatus, id.failBody
	id.mu.Unlock()
	if fail {
		w.WriteHeader(status)
		w.Write([]byte(body))
		return
	}
	now := time.Now()
	json.NewEncoder(w).Encode(map[string]string{
		"access_token": id.Token,
		"expires_in":   "3600",
		"expires_on":   strconv.FormatInt(now.Add(time.Hour).Unix(), 10),
		"not_before":   strconv.FormatInt(now.Unix(), 10),
		"resource":     r.URL.Query().Get("resource"),
		"token_type":   "Bearer",
	})
}
