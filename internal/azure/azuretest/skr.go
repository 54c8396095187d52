package azuretest

import (
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"sync"
	"time"

	"github.com/uid2-private-operator/uid2-operator/internal/azure/maa"
)

// SKR is the SKR sidecar (azure-aks.md §2.1): POST /attest/maa returns an
// MAA token, signed with Key, whose x-ms-runtime claim is the decoded
// runtime_data, as MAA does; GET /status answers 200.
type SKR struct {
	// Key signs the tokens; Core's fake checks them with its public key.
	Key *rsa.PrivateKey
	// HostData is the enclave id (x-ms-sevsnpvm-hostdata) in the tokens.
	HostData string

	mu       sync.Mutex
	fail     int // status of every /attest/maa answer; 0 = 200
	requests []Request
}

// Request is what the sidecar received on /attest/maa.
type Request struct {
	MAAEndpoint string
	RuntimeData maa.Runtime
}

// Fail makes /attest/maa answer status; like the real sidecar it still
// writes a token after the error object (azure-aks.md §2.1).
func (s *SKR) Fail(status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail = status
}

// Requests returns the /attest/maa requests so far.
func (s *SKR) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

func (s *SKR) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/status":
		w.Write([]byte(`{"message":"Status OK"}`))
		return
	case r.Method == http.MethodPost && r.URL.Path == "/attest/maa":
	default:
		http.NotFound(w, r)
		return
	}
	var body struct {
		MAAEndpoint string `json:"maa_endpoint"`
		RuntimeData string `json:"runtime_data"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.MAAEndpoint == "" || body.RuntimeData == "" {
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte(`{"error":"invalid request format"}`))
		return
	}
	raw, err := base64.StdEncoding.DecodeString(body.RuntimeData)
	var rt maa.Runtime
	if err == nil {
		err = json.Unmarshal(raw, &rt)
	}
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte(`{"error":"runtime_data is not base64 JSON"}`))
		return
	}
	s.mu.Lock()
	s.requests = append(s.requests, Request{body.MAAEndpoint, rt})
	fail := s.fail
	s.mu.Unlock()
	if fail != 0 {
		w.WriteHeader(fail)
		w.Write([]byte(`{"error":"attestation failed: fake SKR told to fail"}`))
	}
	now := time.Now()
	f := false
	tok, err := maa.Sign(maa.Claims{
		Issuer:          "https://" + body.MAAEndpoint,
		Expiry:          now.Add(8 * time.Hour).Unix(),
		NotBefore:       now.Add(-time.Minute).Unix(),
		IssuedAt:        now.Unix(),
		AttestationType: "sevsnpvm",
		Compliance:      "azure-compliant-uvm",
		Debuggable:      &f,
		HostData:        s.HostData,
		Runtime:         rt,
	}, s.Key)
	if err != nil {
		http.Error(w, `{"error":"sign"}`, http.StatusInternalServerError)
		return
	}
	json.NewEncoder(w).Encode(map[string]string{"token": tok})
}
