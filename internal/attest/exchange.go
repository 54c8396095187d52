package attest

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
)

// KeyBits is the size of the RSA key generated for every attestation attempt
// (core-and-optout.md §1.2).
const KeyBits = 2048

// RenewBefore is how long before expiresAt the operator re-attests (§1.8).
const RenewBefore = 600 * time.Second

// Application identity sent in the /attest body and X-UID2-AppVersion.
const (
	ApplicationName = "uid2-operator"
	// SharedVersion and APIVersion are the reference component versions we
	// are wire-compatible with; Core only records them.
	SharedVersion = "11.4.16"
	APIVersion    = "2.1.6"
)

// Errors of the exchange.
var (
	// ErrResponse means Core answered 200 with a body that is not a valid
	// attestation response. The operator retries.
	ErrResponse = errors.New("attest: malformed attestation response")
	// ErrDecrypt means the attestation token did not decrypt with this
	// attempt's private key. Opaque on purpose.
	ErrDecrypt = errors.New("attest: cannot decrypt attestation token")
)

// Key is the RSA key pair of one attestation attempt. It is never reused.
type Key struct {
	priv *rsa.PrivateKey
	spki []byte
}

// NewKey generates a fresh RSA-2048 key pair from random (crypto/rand when nil).
func NewKey(random io.Reader) (*Key, error) {
	if random == nil {
		random = rand.Reader
	}
	priv, err := rsa.GenerateKey(random, KeyBits)
	if err != nil {
		return nil, fmt.Errorf("attest: generate key: %w", err)
	}
	spki, err := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("attest: marshal public key: %w", err)
	}
	return &Key{priv: priv, spki: spki}, nil
}

// PublicKeyDER returns the X.509 SubjectPublicKeyInfo DER of the public key.
// The caller must not modify it.
func (k *Key) PublicKeyDER() []byte { return k.spki }

// Request is the JSON body of POST /attest; the field order is the
// reference's (§1.2).
type Request struct {
	AttestationRequest string            `json:"attestation_request"`
	PublicKey          string            `json:"public_key"`
	ApplicationName    string            `json:"application_name"`
	ApplicationVersion string            `json:"application_version"`
	OperatorType       string            `json:"operator_type"`
	Components         map[string]string `json:"components"`
}

// NewRequest asks p for evidence binding k's public key and the attest URL,
// and returns the /attest body. operatorType is sent even when empty (§1.2).
func NewRequest(ctx context.Context, p Provider, k *Key, attestURL, operatorType, appVersion string) (*Request, error) {
	ev, err := p.AttestationRequest(ctx, k.spki, []byte(attestURL))
	if err != nil {
		return nil, fmt.Errorf("attest: %s evidence: %w", p.Name(), err)
	}
	return &Request{
		AttestationRequest: base64.StdEncoding.EncodeToString(ev),
		PublicKey:          base64.StdEncoding.EncodeToString(k.spki),
		ApplicationName:    ApplicationName,
		ApplicationVersion: appVersion,
		OperatorType:       operatorType,
		Components:         map[string]string{"uid2-shared": SharedVersion, "uid2-attestation-api": APIVersion},
	}, nil
}

// AppVersionHeader returns the X-UID2-AppVersion value for appVersion.
func AppVersionHeader(appVersion string) string {
	return ApplicationName + "=" + appVersion + ";uid2-shared=" + SharedVersion + ";uid2-attestation-api=" + APIVersion
}

// Token is a decrypted attestation token and what came with it.
type Token struct {
	// Value is the decrypted token, sent as-is in Attestation-Token.
	Value     string
	ExpiresAt time.Time
	// OptoutURL is the Opt-Out base URL Core named; empty when it sent null.
	OptoutURL string
	// JWTs for Attestation-JWT; empty when Core minted none.
	JWTOptout, JWTCore string
}

// Valid reports whether t is present and unexpired at now (§1.8 attested()).
func (t *Token) Valid(now time.Time) bool {
	return t != nil && t.Value != "" && now.Before(t.ExpiresAt)
}

// Renew reports whether the operator should re-attest at now: no valid token,
// or within RenewBefore of expiry.
func (t *Token) Renew(now time.Time) bool {
	return !t.Valid(now) || now.After(t.ExpiresAt.Add(-RenewBefore))
}

// ParseResponse decodes a 200 /attest response body and decrypts the token
// with k (RSA PKCS#1 v1.5, §1.4 step 6).
func ParseResponse(body []byte, k *Key) (*Token, error) {
	var doc struct {
		Status string `json:"status"`
		Body   *struct {
			AttestationToken *string `json:"attestation_token"`
			ExpiresAt        *string `json:"expiresAt"`
			OptoutURL        *string `json:"optout_url"`
			JWTOptout        string  `json:"attestation_jwt_optout"`
			JWTCore          string  `json:"attestation_jwt_core"`
		} `json:"body"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrResponse, err)
	}
	if doc.Status != "success" || doc.Body == nil || doc.Body.AttestationToken == nil || doc.Body.ExpiresAt == nil {
		return nil, fmt.Errorf("%w: status, body.attestation_token or body.expiresAt missing", ErrResponse)
	}
	exp, err := time.Parse(time.RFC3339Nano, *doc.Body.ExpiresAt)
	if err != nil {
		return nil, fmt.Errorf("%w: expiresAt: %v", ErrResponse, err)
	}
	ct, err := base64.StdEncoding.DecodeString(*doc.Body.AttestationToken)
	if err != nil {
		return nil, ErrDecrypt
	}
	// Core encrypts the token with RSA PKCS#1 v1.5 (core-and-optout.md §1.4);
	// the protocol fixes it. The padding-oracle risk that deprecated it in
	// Go 1.26 needs many decryptions under one key; each key here is fresh
	// and decrypts exactly one Core answer.
	//lint:ignore SA1019 protocol-mandated, see above
	pt, err := rsa.DecryptPKCS1v15(nil, k.priv, ct)

	if err != nil {
		return nil, ErrDecrypt
	}
	t := &Token{Value: string(pt), ExpiresAt: exp, JWTOptout: doc.Body.JWTOptout, JWTCore: doc.Body.JWTCore}
	if doc.Body.OptoutURL != nil {
		t.OptoutURL = *doc.Body.OptoutURL
	}
	return t, nil
}

// EncryptToken encrypts token for the holder of the SPKI DER public key, as
// Core does (RSA PKCS#1 v1.5, standard base64). Used by the stand-in Core.
func EncryptToken(random io.Reader, spki []byte, token string) (string, error) {
	if random == nil {
		random = rand.Reader
	}
	pub, err := x509.ParsePKIXPublicKey(spki)
	if err != nil {
		return "", fmt.Errorf("attest: public key: %w", err)
	}
	rpub, ok := pub.(*rsa.PublicKey)
	if !ok {
		return "", errors.New("attest: public key is not RSA")
	}
	//lint:ignore SA1019 Core's protocol (the stand-in plays Core)
	ct, err := rsa.EncryptPKCS1v15(random, rpub, []byte(token))
	if err != nil {
		return "", fmt.Errorf("attest: encrypt token: %w", err)
	}
	return base64.StdEncoding.EncodeToString(ct), nil
}
