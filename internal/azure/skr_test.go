package azure_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/uid2-private-operator/uid2-operator/internal/attest"
	"github.com/uid2-private-operator/uid2-operator/internal/azure"
	"github.com/uid2-private-operator/uid2-operator/internal/azure/azuretest"
	"github.com/uid2-private-operator/uid2-operator/internal/azure/maa"
)

var _ attest.Provider = (*azure.SKR)(nil)

func newSKR(t *testing.T) (*azuretest.SKR, *rsa.PrivateKey, *httptest.Server) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	fake := &azuretest.SKR{Key: key, HostData: "enclave-id-1"}
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	return fake, key, srv
}

func TestSKRAttestationRequest(t *testing.T) {
	fake, key, srv := newSKR(t)
	p := &azure.SKR{URL: srv.URL}
	pub := []byte("spki-der-bytes")
	const attestURL = "https://core-integ.uidapi.com/attest"
	tok, err := p.AttestationRequest(context.Background(), pub, []byte(attestURL))
	if err != nil {
		t.Fatal(err)
	}
	c, err := maa.Verify(string(tok), &key.PublicKey, "https://sharedeus.eus.attest.azure.net", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	want := maa.Runtime{Location: "East US", PublicKey: base64.StdEncoding.EncodeToString(pub), AttestationURL: base64.StdEncoding.EncodeToString([]byte(attestURL))}
	if c.Runtime != want {
		t.Errorf("x-ms-runtime = %+v; want %+v", c.Runtime, want)
	}
	id, err := maa.Check(c, pub, "https://core-integ.uidapi.com")
	if err != nil || id != "enclave-id-1" {
		t.Errorf("Check = %q, %v; want enclave-id-1", id, err)
	}
	if _, err := maa.Check(c, []byte("other key"), "https://core-integ.uidapi.com"); !errors.Is(err, maa.ErrPublicKey) {
		t.Errorf("Check(other key) = %v; want ErrPublicKey", err)
	}
	if _, err := maa.Check(c, pub, "https://core-prod.uidapi.com"); !errors.Is(err, maa.ErrAttestURL) {
		t.Errorf("Check(other core) = %v; want ErrAttestURL", err)
	}
	if r := fake.Requests(); len(r) != 1 || r[0].MAAEndpoint != "sharedeus.eus.attest.azure.net" {
		t.Errorf("sidecar requests = %+v; want one for sharedeus.eus.attest.azure.net", r)
	}
}

func TestSKRNon200(t *testing.T) {
	fake, _, srv := newSKR(t)
	fake.Fail(http.StatusForbidden) // still writes a token after the error
	_, err := (&azure.SKR{URL: srv.URL}).AttestationRequest(context.Background(), []byte("k"), []byte("u"))
	if !errors.Is(err, azure.ErrSKR) {
		t.Fatalf("AttestationRequest = %v; want ErrSKR", err)
	}
	t.Log(err)
}

func TestSKRWaitReady(t *testing.T) {
	_, _, srv := newSKR(t)
	p := &azure.SKR{URL: srv.URL}
	if err := p.WaitReady(context.Background(), azure.Backoff{Attempts: 2}, nil); err != nil {
		t.Errorf("WaitReady(up) = %v", err)
	}
	srv.Close()
	err := p.WaitReady(context.Background(), azure.Backoff{Attempts: 3}, nil)
	if err == nil {
		t.Fatal("WaitReady(down) = nil; want an error")
	}
	t.Log(err)
}
