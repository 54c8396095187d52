package standin

import (
	"crypto/rsa"
	"errors"
	"net/http"
	"slices"

	"github.com/uid2-private-operator/uid2-operator/internal/azure/maa"
)

// ProtocolAzureCC is Core's protocol for Azure confidential containers.
const ProtocolAzureCC = "azure-cc"

// AzureCC lets the stand-in accept operators whose Operator.Protocol is
// ProtocolAzureCC, checking their MAA token as Core does
// (core-and-optout.md §1.5): signature by Signer, issuer, the SEV-SNP
// claims, x-ms-runtime.publicKey equal to the request's public_key and
// x-ms-runtime.attestationUrl on the stand-in's own origin, and the host
// data in Enclaves.
type AzureCC struct {
	// Signer verifies MAA tokens (the fake SKR's signing key).
	Signer *rsa.PublicKey
	// Issuer is the MAA base URL the tokens must carry as iss.
	Issuer string
	// Enclaves are the registered enclave ids; empty accepts any.
	Enclaves []string
}

// checkAzureCC validates an azure-cc attestation_request (the MAA JWT) and
// reports the failure the way Core does: 403 with a status and message.
func (s *Server) checkAzureCC(r *http.Request, evidence, spki []byte) error {
	cc := s.opt.AzureCC
	if cc == nil || cc.Signer == nil {
		return jsonError(http.StatusForbidden, "protocol not found", "")
	}
	claims, err := maa.Verify(string(evidence), cc.Signer, cc.Issuer, s.opt.Now())
	if err == nil {
		var enclave string
		enclave, err = maa.Check(claims, spki, baseURL(r))
		if err == nil && len(cc.Enclaves) > 0 && !slices.Contains(cc.Enclaves, enclave) {
			return jsonError(http.StatusForbidden, "FORBIDDEN_ENCLAVE", "enclave id not registered")
		}
	}
	if err != nil {
		status := "BAD_PAYLOAD"
		if errors.Is(err, maa.ErrAttestURL) {
			status = "UNKNOWN_ATTESTATION_URL"
		}
		s.opt.Log.Warn("azure-cc attestation rejected", "reason", err.Error())
		return jsonError(http.StatusForbidden, status, err.Error())
	}
	return nil
}
