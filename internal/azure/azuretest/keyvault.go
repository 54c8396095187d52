package azuretest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
)

// KeyVault is a Key Vault secrets endpoint (azure-aks.md §3.3): a request
// without a bearer token gets the 401 challenge, a wrong token 401, then
// GET /secrets/{name} answers 200, or 403/404 as configured. Serve it with
// httptest.NewTLSServer: the SDK sends tokens over https only.
type KeyVault struct {
	// Token is the bearer token the vault accepts.
	Token string
	// Resource is the challenge's resource, "https://vault.azure.net" when
	// empty; clients ask for a token for Resource + "/.default".
	Resource string

	mu        sync.Mutex
	secrets   map[string]string
	forbidden map[string]int // name → remaining 403 answers; <0 forever
	gets      int
}

// NewKeyVault returns a vault accepting token.
func NewKeyVault(token string) *KeyVault {
	return &KeyVault{Token: token, secrets: map[string]string{}, forbidden: map[string]int{}}
}

// Set stores a secret.
func (kv *KeyVault) Set(name, value string) {
	kv.mu.Lock()
	defer kv.mu.Unlock()
	kv.secrets[name] = value
}

// Forbid makes the next n reads of name answer 403 ForbiddenByRbac; n < 0
// forbids it for good.
func (kv *KeyVault) Forbid(name string, n int) {
	kv.mu.Lock()
	defer kv.mu.Unlock()
	kv.forbidden[name] = n
}

// Gets returns how many authorized secret reads arrived.
func (kv *KeyVault) Gets() int {
	kv.mu.Lock()
	defer kv.mu.Unlock()
	return kv.gets
}

// Tenant is the tenant id in the challenge.
const Tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"

func (kv *KeyVault) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	auth := r.Header.Get("Authorization")
	if auth == "" {
		w.Header().Set("WWW-Authenticate", `Bearer authorization="https://login.microsoftonline.com/`+Tenant+`", resource="`+kv.resource()+`"`)
		writeVaultError(w, http.StatusUnauthorized, "Unauthorized", "AKV10000: Request is missing a Bearer or PoP token.", "")
		return
	}
	if auth != "Bearer "+kv.Token {
		writeVaultError(w, http.StatusUnauthorized, "Unauthorized", "AKV10032: Invalid issuer.", "")
		return
	}
	name, ok := strings.CutPrefix(r.URL.Path, "/secrets/")
	if !ok || r.Method != http.MethodGet || r.URL.Query().Get("api-version") == "" {
		writeVaultError(w, http.StatusBadRequest, "BadParameter", "bad request", "")
		return
	}
	name, _, _ = strings.Cut(name, "/") // optional version segment
	kv.mu.Lock()
	kv.gets++
	n, forbidden := kv.forbidden[name]
	if forbidden && n > 0 {
		kv.forbidden[name] = n - 1
	} else if forbidden && n == 0 {
		forbidden = false
	}
	value, found := kv.secrets[name]
	kv.mu.Unlock()
	host := r.Host
	switch {
	case forbidden:
		writeVaultError(w, http.StatusForbidden, "Forbidden",
			"Caller is not authorized to perform action on resource.\r\nIf role assignments, deny assignments or role definitions were changed recently, please observe propagation time.\r\nCaller: appid=00000000-0000-0000-0000-000000000001;oid=00000000-0000-0000-0000-000000000002\r\nAction: 'Microsoft.KeyVault/vaults/secrets/getSecret/action'\r\nResource: '/subscriptions/x/resourcegroups/y/providers/microsoft.keyvault/vaults/z/secrets/"+name+"'\r\nAssignment: (not found)\r\nDecisionReason: 'DeniedWithNoValidRBAC' \r\nVault: z;location=eastus\r\n",
			"ForbiddenByRbac")
	case !found:
		writeVaultError(w, http.StatusNotFound, "SecretNotFound",
			fmt.Sprintf("A secret with (name/id) %s was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182", name), "")
	default:
		json.NewEncoder(w).Encode(map[string]any{
			"value": value,
			"id":    "https://" + host + "/secrets/" + name + "/0123456789abcdef0123456789abcdef",
			"attributes": map[string]any{
				"enabled": true, "created": 1754000000, "updated": 1754000000,
				"recoveryLevel": "Recoverable+Purgeable", "recoverableDays": 90,
			},
		})
	}
}

func writeVaultError(w http.ResponseWriter, status int, code, msg, inner string) {
	e := map[string]any{"code": code, "message": msg}
	if inner != "" {
		e["innererror"] = map[string]string{"code": inner}
	}
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"error": e})
}

func (kv *KeyVault) resource() string {
	if kv.Resource == "" {
		return "https://vault.azure.net"
	}
	return kv.Resource
}
