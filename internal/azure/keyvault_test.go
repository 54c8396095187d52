package azure_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/uid2-private-operator/uid2-operator/internal/azure"
	"github.com/uid2-private-operator/uid2-operator/internal/azure/azuretest"
)

const (
	testToken  = "fake-access-token"
	testKey    = "UID2-O-I-123-abcdef.0123456789abcdef0123456789abcdef012345"
	secretName = "operator-key"
)

var fixtures atomic.Int64

type vaultFixture struct {
	id    *azuretest.Identity
	vault *azuretest.KeyVault
	kv    *azure.KeyVault
}

// newVault starts an IMDS fake and an HTTPS Key Vault fake and returns a
// KeyVault client pointed at them (IMDS through a redirecting transport).
func newVault(t *testing.T) *vaultFixture {
	t.Helper()
	t.Setenv("IDENTITY_ENDPOINT", "")
	t.Setenv("IDENTITY_HEADER", "")
	id := azuretest.NewIdentity(testToken, "")
	idSrv := httptest.NewServer(id)
	t.Cleanup(idSrv.Close)
	vault := azuretest.NewKeyVault(testToken)
	// The SDK caches managed-identity tokens per process and resource: a
	// fresh resource per fixture makes every test fetch its own token.
	vault.Resource = fmt.Sprintf("https://vault.azure.net/test-%d", fixtures.Add(1))
	vault.Set(secretName, testKey+"\n")
	vSrv := httptest.NewTLSServer(vault)
	t.Cleanup(vSrv.Close)
	return &vaultFixture{id: id, vault: vault, kv: &azure.KeyVault{
		URL:              vSrv.URL,
		Secret:           secretName,
		Scope:            vault.Resource + "/.default",
		AnyChallengeHost: true,
		Transport:        azuretest.Redirect(azuretest.TrustingTransport(vSrv), "169.254.169.254", strings.TrimPrefix(idSrv.URL, "http://")),
		SDKRetries:       -1,
	}}
}

func wantCode(t *testing.T, err error, code azure.Code, substr string) {
	t.Helper()
	t.Log(err)
	var se *azure.StartupError
	if !errors.As(err, &se) {
		t.Fatalf("err = %v; want a *StartupError %s", err, code)
	}
	if se.Code != code {
		t.Fatalf("code = %s; want %s (%v)", se.Code, code, err)
	}
	if !strings.Contains(err.Error(), substr) {
		t.Errorf("err = %q; want it to contain %q", err, substr)
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("err = %q; want one line", err)
	}
	if strings.Contains(err.Error(), testKey) || strings.Contains(err.Error(), testToken) {
		t.Errorf("err = %q leaks the key or token", err)
	}
}

func TestOperatorKeyIMDS(t *testing.T) {
	f := newVault(t)
	got, err := f.kv.OperatorKey(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got != testKey {
		t.Errorf("OperatorKey = %q; want %q (trimmed)", got, testKey)
	}
	if f.id.Requests() == 0 {
		t.Error("the identity endpoint was not asked for a token")
	}
}

func TestOperatorKeyAppService(t *testing.T) {
	f := newVault(t)
	id := azuretest.NewIdentity(testToken, "s3cret-header")
	srv := httptest.NewServer(id)
	defer srv.Close()
	t.Setenv("IDENTITY_ENDPOINT", srv.URL+"/msi/token")
	t.Setenv("IDENTITY_HEADER", "s3cret-header")
	got, err := f.kv.OperatorKey(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got != testKey {
		t.Errorf("OperatorKey = %q; want %q", got, testKey)
	}
	if id.Requests() == 0 || f.id.Requests() != 0 {
		t.Errorf("App Service endpoint got %d requests, IMDS %d; want >0 and 0", id.Requests(), f.id.Requests())
	}
}

func TestOperatorKeyErrors(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(*vaultFixture)
		code    azure.Code
		contain string
	}{
		{"secret not found", func(f *vaultFixture) { f.kv.Secret = "nope" }, azure.E02, `no secret "nope" (404, code SecretNotFound)`},
		{"forbidden", func(f *vaultFixture) { f.vault.Forbid(secretName, -1) }, azure.E08, "(403, code Forbidden, innererror ForbiddenByRbac, DecisionReason DeniedWithNoValidRBAC)"},
		{"wrong token", func(f *vaultFixture) { f.vault.Token = "other" }, azure.E08, "(401, code Unauthorized)"},
		{"no identity", func(f *vaultFixture) { f.id.Fail(http.StatusBadRequest, azuretest.IdentityNotFound) }, azure.E08, "Identity not found"},
		{"identity endpoint down", func(f *vaultFixture) {
			f.kv.Transport = azuretest.Redirect(f.kv.Transport.(*http.Client).Transport, "169.254.169.254", "127.0.0.1:1")
		}, azure.E08, "cannot get a managed identity token"},
		{"empty secret", func(f *vaultFixture) { f.vault.Set(secretName, " ") }, azure.E02, "is empty"},
		{"unknown vault", func(f *vaultFixture) { f.kv.URL = "https://no-such-vault-uid2.invalid" }, azure.E02, "no-such-vault-uid2.invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newVault(t)
			tt.setup(f)
			_, err := f.kv.OperatorKey(context.Background())
			wantCode(t, err, tt.code, tt.contain)
		})
	}
}

func TestOperatorKeyRetriesPropagation(t *testing.T) {
	f := newVault(t)
	f.vault.Forbid(secretName, 2)
	f.id.FailFirst(1, http.StatusServiceUnavailable, `{"error":"busy"}`)
	f.kv.IdentityBackoff = azure.Backoff{Attempts: 3}
	f.kv.PermissionBackoff = azure.Backoff{Attempts: 3}
	got, err := f.kv.OperatorKey(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got != testKey || f.vault.Gets() != 3 {
		t.Errorf("OperatorKey = %q after %d reads; want the key after 3", got, f.vault.Gets())
	}
}
