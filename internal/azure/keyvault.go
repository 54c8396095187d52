package azure

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"
)

// KeyVaultScope is the token scope for Key Vault (azure-aks.md §3.3).
const KeyVaultScope = "https://vault.azure.net/.default"

// Default retry schedules for the propagation delays of a new deployment:
// a freshly attached identity can take a few seconds to answer, and a new
// role assignment (the AKS guide's "Key Vault Secrets User") minutes.
var (
	DefaultIdentityBackoff   = Backoff{Attempts: 5, Initial: 2 * time.Second, Max: 16 * time.Second}
	DefaultPermissionBackoff = Backoff{Attempts: 8, Initial: 5 * time.Second, Max: 40 * time.Second}
)

// KeyVault reads the operator key from Key Vault with the pod's managed
// identity (azure-aks.md §3): IMDS, or IDENTITY_ENDPOINT/IDENTITY_HEADER
// where the platform provides them, as azidentity decides.
type KeyVault struct {
	// URL is the vault, e.g. https://uid2vault.vault.azure.net.
	URL string
	// Secret is the name of the secret holding the operator key.
	Secret string
	// Scope is the token scope asked for before the first Key Vault call;
	// KeyVaultScope when empty. (The SDK caches managed-identity tokens per
	// process and scope; tests use distinct scopes.)
	Scope string
	// AnyChallengeHost accepts a Key Vault challenge whose resource is not a
	// parent domain of URL's host: only for a VAULT_URL override (tests).
	AnyChallengeHost bool
	// Transport sends the identity and Key Vault requests; nil uses the
	// SDK's default (system roots, which honour SSL_CERT_FILE).
	Transport policy.Transporter
	// SDKRetries is the SDK's own retry count per call: 0 keeps its default,
	// -1 disables it.
	SDKRetries int
	// IdentityBackoff retries getting a token; PermissionBackoff retries a
	// 401 or 403 from Key Vault. Zero values try once.
	IdentityBackoff   Backoff
	PermissionBackoff Backoff
	// Log receives the retries; nil discards them.
	Log *slog.Logger
}

// OperatorKey returns the operator key, or a *StartupError: E08 when there
// is no identity token or Key Vault answers 401/403, E02 when the vault or
// the secret does not exist. Neither the key nor the token is ever logged.
func (kv *KeyVault) OperatorKey(ctx context.Context) (string, error) {
	log := kv.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	copts := azcore.ClientOptions{Transport: kv.Transport}
	copts.Retry.MaxRetries = int32(kv.SDKRetries)
	cred, err := azidentity.NewManagedIdentityCredential(&azidentity.ManagedIdentityCredentialOptions{ClientOptions: copts})
	if err != nil {
		return "", startupErr(E08, err, "managed identity is not available (%v); attach the user-assigned identity with the pod annotation microsoft.containerinstance.virtualnode.identity", err)
	}

	// Get a token first, so an identity problem is told apart from a vault
	// problem. The credential caches it for the Key Vault client.
	err = kv.IdentityBackoff.retry(ctx, func(attempt int) (bool, error) {
		_, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{or(kv.Scope, KeyVaultScope)}})
		if err != nil && attempt < kv.IdentityBackoff.Attempts {
			log.Warn("managed identity token not available yet; retrying", "attempt", attempt, "err", oneLine(err))
		}
		return ctx.Err() == nil, err
	})
	if err != nil {
		return "", startupErr(E08, err, "cannot get a managed identity token for Key Vault (%s); check that the pod annotation microsoft.containerinstance.virtualnode.identity holds the full resource id of the user-assigned identity the AKS guide created", identityCause(err))
	}

	client, err := azsecrets.NewClient(kv.URL, cred, &azsecrets.ClientOptions{
		ClientOptions:                        copts,
		DisableChallengeResourceVerification: kv.AnyChallengeHost,
	})
	if err != nil {
		return "", startupErr(E04, err, "%s %q is not a usable vault URL: %v", EnvVaultURL, kv.URL, err)
	}
	var value *string
	err = kv.PermissionBackoff.retry(ctx, func(attempt int) (bool, error) {
		resp, err := client.GetSecret(ctx, kv.Secret, "", nil)
		if err == nil {
			value = resp.Value
			return false, nil
		}
		var re *azcore.ResponseError
		if errors.As(err, &re) && (re.StatusCode == http.StatusForbidden || re.StatusCode == http.StatusUnauthorized) && ctx.Err() == nil {
			if attempt < kv.PermissionBackoff.Attempts {
				code, inner, reason := vaultErrorCodes(re)
				log.Warn("Key Vault refused the identity; role assignments can take minutes to propagate, retrying",
					"attempt", attempt, "status", re.StatusCode, "code", code, "innererror", inner, "decision_reason", reason)
			}
			return true, err
		}
		return false, err
	})
	if err != nil {
		return "", kv.classify(err)
	}
	if value == nil || strings.TrimSpace(*value) == "" {
		return "", startupErr(E02, nil, "secret %q in Key Vault %s is empty; store the operator key UID2 gave you in it", kv.Secret, kv.URL)
	}
	return strings.TrimSpace(*value), nil
}

// classify maps a GetSecret error onto E02/E08 (azure-aks.md §3.3).
func (kv *KeyVault) classify(err error) error {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		code, inner, reason := vaultErrorCodes(re)
		detail := "code " + code
		if inner != "" {
			detail += ", innererror " + inner
		}
		if reason != "" {
			detail += ", DecisionReason " + reason
		}
		switch re.StatusCode {
		case http.StatusNotFound:
			return startupErr(E02, err, "Key Vault %s has no secret %q (%d, %s); set %s and %s to the vault and secret that hold the operator key",
				kv.URL, kv.Secret, re.StatusCode, detail, EnvVaultName, EnvSecretName)
		case http.StatusUnauthorized, http.StatusForbidden:
			return startupErr(E08, err, "Key Vault %s refused to read secret %q (%d, %s); grant the pod's user-assigned identity the \"Key Vault Secrets User\" role on the vault, and allow its network access",
				kv.URL, kv.Secret, re.StatusCode, detail)
		}
		return startupErr(E02, err, "Key Vault %s answered %d (%s) for secret %q; check %s and retry later",
			kv.URL, re.StatusCode, detail, kv.Secret, EnvVaultName)
	}
	var ae *azidentity.AuthenticationFailedError
	if errors.As(err, &ae) || strings.Contains(err.Error(), "ManagedIdentityCredential") {
		return startupErr(E08, err, "cannot get a managed identity token for Key Vault (%s); check the pod's identity annotation", identityCause(err))
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return startupErr(E02, err, "Key Vault host %s cannot be resolved (%s); %s must be the name of an existing vault", dns.Name, dns.Err, EnvVaultName)
	}
	return startupErr(E02, err, "cannot reach Key Vault %s (%s); check %s and that the pod may reach *.vault.azure.net on port 443", kv.URL, oneLine(err), EnvVaultName)
}

// vaultErrorCodes returns Key Vault's error code, innererror code and RBAC
// DecisionReason from an error response (azure-aks.md §3.3). The secret is
// never in an error body.
func vaultErrorCodes(re *azcore.ResponseError) (code, inner, reason string) {
	code = re.ErrorCode
	if re.RawResponse == nil {
		return code, "", ""
	}
	body, err := runtime.Payload(re.RawResponse)
	if err != nil {
		return code, "", ""
	}
	var v struct {
		Error struct {
			Code       string `json:"code"`
			Message    string `json:"message"`
			InnerError struct {
				Code string `json:"code"`
			} `json:"innererror"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &v) != nil {
		return code, "", ""
	}
	if code == "" {
		code = v.Error.Code
	}
	if i := strings.Index(v.Error.Message, "DecisionReason: '"); i >= 0 {
		r := v.Error.Message[i+len("DecisionReason: '"):]
		if j := strings.IndexByte(r, '\''); j >= 0 {
			reason = r[:j]
		}
	}
	return code, v.Error.InnerError.Code, reason
}

// identityCause shortens an azidentity error to its first line: the full
// text repeats the request and a troubleshooting link.
func identityCause(err error) string {
	var ae *azidentity.AuthenticationFailedError
	if errors.As(err, &ae) && ae.RawResponse != nil {
		body, _ := runtime.Payload(ae.RawResponse)
		var v struct {
			Error       string `json:"error"`
			Description string `json:"error_description"`
		}
		if json.Unmarshal(body, &v) == nil && (v.Error != "" || v.Description != "") {
			return fmt.Sprintf("identity endpoint answered %d: %s %s", ae.RawResponse.StatusCode, v.Error, v.Description)
		}
		return fmt.Sprintf("identity endpoint answered %d", ae.RawResponse.StatusCode)
	}
	return oneLine(err)
}

// oneLine returns the first non-empty line of err's text, at most 300 bytes.
func oneLine(err error) string {
	s := err.Error()
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "---") {
			s = l
			break
		}
	}
	if i := strings.Index(s, ". To troubleshoot, visit"); i >= 0 {
		s = s[:i]
	}
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}
