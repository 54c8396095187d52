// Package maa reads and checks Microsoft Azure Attestation (MAA) tokens the
// way UID2 Core does for the azure-cc protocol (core-and-optout.md §1.5):
// RS256 signature and issuer, the SEV-SNP policy claims, and the x-ms-runtime
// binding of the operator's public key and attest URL. It also signs tokens,
// for the SKR fake and the stand-in Core. It imports no Azure SDK.
package maa

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Claims are the claims Core reads from an MAA token.
type Claims struct {
	Issuer          string  `json:"iss"`
	Expiry          int64   `json:"exp"`
	NotBefore       int64   `json:"nbf,omitempty"`
	IssuedAt        int64   `json:"iat,omitempty"`
	AttestationType string  `json:"x-ms-attestation-type"`
	Compliance      string  `json:"x-ms-compliance-status"`
	Debuggable      *bool   `json:"x-ms-sevsnpvm-is-debuggable"`
	HostData        string  `json:"x-ms-sevsnpvm-hostdata"`
	Runtime         Runtime `json:"x-ms-runtime"`
}

// Runtime is the x-ms-runtime claim: the runtime data the operator sent
// through the SKR sidecar.
type Runtime struct {
	Location       string `json:"location"`
	PublicKey      string `json:"publicKey"`
	AttestationURL string `json:"attestationUrl,omitempty"`
}

// Errors of Verify and Check. Core answers all of them with 403.
var (
	ErrFormat    = errors.New("maa: malformed token")
	ErrSignature = errors.New("maa: bad signature")
	ErrIssuer    = errors.New("maa: unexpected issuer")
	ErrExpired   = errors.New("maa: token expired or not yet valid")
	ErrPolicy    = errors.New("maa: policy check failed")
	ErrPublicKey = errors.New("maa: runtime publicKey does not match the request's public_key")
	ErrAttestURL = errors.New("maa: runtime attestationUrl does not match Core's public URL")
)

// Sign returns an RS256 JWT of c signed with key.
func Sign(c Claims, key *rsa.PrivateKey) (string, error) {
	h, _ := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT"})
	p, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	enc := base64.RawURLEncoding
	signing := enc.EncodeToString(h) + "." + enc.EncodeToString(p)
	sum := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		return "", err
	}
	return signing + "." + enc.EncodeToString(sig), nil
}

// Verify checks the token's RS256 signature with pub, that its issuer is
// issuer and that now is within nbf…exp, and returns its claims.
func Verify(token string, pub *rsa.PublicKey, issuer string, now time.Time) (*Claims, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, ErrFormat
	}
	enc := base64.RawURLEncoding
	hb, err1 := enc.DecodeString(parts[0])
	pb, err2 := enc.DecodeString(parts[1])
	sig, err3 := enc.DecodeString(parts[2])
	if err := errors.Join(err1, err2, err3); err != nil {
		return nil, ErrFormat
	}
	var h struct {
		Alg string `json:"alg"`
	}
	if json.Unmarshal(hb, &h) != nil || h.Alg != "RS256" {
		return nil, ErrFormat
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig) != nil {
		return nil, ErrSignature
	}
	var c Claims
	if err := json.Unmarshal(pb, &c); err != nil {
		return nil, ErrFormat
	}
	if c.Issuer != issuer {
		return nil, fmt.Errorf("%w: %q", ErrIssuer, c.Issuer)
	}
	if t := now.Unix(); t >= c.Expiry || (c.NotBefore != 0 && t < c.NotBefore) {
		return nil, ErrExpired
	}
	return &c, nil
}

// Check applies Core's policy (core-and-optout.md §1.5 step 3) to claims
// from a verified token: SEV-SNP, compliant, not debuggable, a location
// outside Europe and China, runtime publicKey equal to base64(publicKey),
// and an attestationUrl (when present) with the scheme, host and port of
// corePublicURL. It returns the enclave id (the host data).
func Check(c *Claims, publicKey []byte, corePublicURL string) (enclaveID string, err error) {
	switch {
	case !strings.EqualFold(c.AttestationType, "sevsnpvm"):
		return "", fmt.Errorf("%w: attestation type %q", ErrPolicy, c.AttestationType)
	case c.Compliance != "azure-compliant-uvm":
		return "", fmt.Errorf("%w: compliance status %q", ErrPolicy, c.Compliance)
	case c.Debuggable == nil || *c.Debuggable:
		return "", fmt.Errorf("%w: debuggable", ErrPolicy)
	}
	loc := strings.ToLower(c.Runtime.Location)
	if loc == "" || strings.Contains(loc, "china") || strings.Contains(loc, "europe") {
		return "", fmt.Errorf("%w: location %q", ErrPolicy, c.Runtime.Location)
	}
	if c.Runtime.PublicKey != base64.StdEncoding.EncodeToString(publicKey) {
		return "", ErrPublicKey
	}
	if c.Runtime.AttestationURL != "" {
		raw, err := base64.StdEncoding.DecodeString(c.Runtime.AttestationURL)
		if err != nil || !sameOrigin(string(raw), corePublicURL) {
			return "", ErrAttestURL
		}
	}
	return c.HostData, nil
}

// sameOrigin compares scheme, host (case-insensitively) and port, with the
// scheme's default port filled in, as Core's UrlEquivalenceValidator does.
func sameOrigin(a, b string) bool {
	ua, err1 := url.Parse(a)
	ub, err2 := url.Parse(b)
	if err1 != nil || err2 != nil || ua.Host == "" {
		return false
	}
	port := func(u *url.URL) string {
		if p := u.Port(); p != "" {
			return p
		}
		if u.Scheme == "https" {
			return "443"
		}
		return "80"
	}
	return strings.EqualFold(ua.Scheme, ub.Scheme) && strings.EqualFold(ua.Hostname(), ub.Hostname()) && port(ua) == port(ub)
}
