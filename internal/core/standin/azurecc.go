package standin

import (
	"crypto/rsa"
	"errors"
	"net/http"

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
func (s *Server) checkAzureCC(w http.ResponseWriter, r *http.Request, evidence, spki []byte) bool {
	cc := s.opt.AzureCC
	if cc == nil || cc.Signer == nil {
		writeJSON(w, http.StatusForbidden, map[string]string{"status": "protocol not found"})
		return false
	}
	claims, err := maa.Verify(string(evidence), cc.Signer, cc.Issuer, s.opt.Now())
	if err == nil {
		var enclave string
		enclave, err = maa.Check(claims, spki, s.baseURL(r))
		if err == nil && len(cc.Enclaves) > 0 && !contains(cc.Enclaves, enclave) {
			writeJSON(w, http.StatusForbidden, map[string]string{"status": "FORBIDDEN_ENCLAVE", "message": "enclave id not registered"})
			return false
		}
	}
	if err != nil {
		status := "BAD_PAYLOAD"
		if errors.Is(err, maa.ErrAttestURL) {
			status = "UNKNOWN_ATTESTATION_URL"
		}
		s.opt.Log.Warn("azure-cc attestation rejected", "reason", err.Error())
		writeJSON(w, http.StatusForbidden, map[string]string{"status": status, "message": err.Error()})
		return false
	}
	return true
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}
