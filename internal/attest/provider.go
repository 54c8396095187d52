// Package attest is the operator side of attestation to UID2 Core
// (core-and-optout.md §1): evidence providers, the /attest exchange and the
// re-attestation schedule.
package attest

import "context"

// Provider produces the attestation evidence that goes, base64-encoded, into
// the attestation_request field of Core's /attest (core-and-optout.md §1.3).
type Provider interface {
	// Name is the enclave platform: "trusted", "azure-cc", …
	Name() string
	// AttestationRequest returns the evidence bytes binding publicKey (the
	// fresh RSA key's SubjectPublicKeyInfo DER) and userData (the UTF-8 bytes
	// of the full /attest URL).
	AttestationRequest(ctx context.Context, publicKey, userData []byte) ([]byte, error)
}

// Trusted is the provider for operators without a TEE (Core's "trusted"
// protocol): its evidence is the single byte 0x00 ("AA==" on the wire).
type Trusted struct{}

// Name returns "trusted".
func (Trusted) Name() string { return "trusted" }

// AttestationRequest returns []byte{0}.
func (Trusted) AttestationRequest(context.Context, []byte, []byte) ([]byte, error) {
	return []byte{0}, nil
}
