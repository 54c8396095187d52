// Package azuretest has fakes of the Azure services the operator's start-up
// talks to, for tests on 127.0.0.1: a managed-identity endpoint (IMDS and
// App Service style), Key Vault over HTTPS with its challenge flow, and an
// SKR sidecar that returns MAA tokens carrying the runtime data. They mimic
// the wire shapes in azure-aks.md §2.1, §3.2 and §3.3.
package azuretest

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
)

// Redirect returns a client that sends requests for host from (e.g.
// "169.254.169.254") to the host to (e.g. "127.0.0.1:41234") over plain
// http, and everything else through base (http.DefaultTransport when nil).
// It lets in-process tests point the SDK's fixed IMDS address at a fake.
func Redirect(base http.RoundTripper, from, to string) *http.Client {
	if base == nil {
		base = http.DefaultTransport
	}
	return &http.Client{Transport: redirect{base, from, to}}
}

type redirect struct {
	base     http.RoundTripper
	from, to string
}

func (r redirect) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Host == r.from {
		req = req.Clone(req.Context())
		req.URL.Host = r.to
		req.URL.Scheme = "http"
	}
	return r.base.RoundTrip(req)
}

// WriteCA writes srv's certificate as PEM into dir/ca.pem and returns the
// path, for SSL_CERT_FILE in a child process.
func WriteCA(srv *httptest.Server, dir string) (string, error) {
	p := filepath.Join(dir, "ca.pem")
	b := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	return p, os.WriteFile(p, b, 0o644)
}

// TrustingTransport returns an http.Transport that trusts srv's certificate
// (and nothing else), for in-process tests.
func TrustingTransport(srv *httptest.Server) *http.Transport {
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	return &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
}
