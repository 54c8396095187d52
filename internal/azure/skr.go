package azure

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// DefaultLocation is the runtime-data location the reference hard-codes;
// Core rejects locations containing "europe" or "china" (azure-aks.md §2.2).
const DefaultLocation = "East US"

// DefaultSKRWait is how long start-up waits for the sidecar: the reference
// tries 15 times over about 105 s (azure-aks.md §1.3 step 6).
var DefaultSKRWait = Backoff{Attempts: 12, Initial: time.Second, Max: 14 * time.Second}

// maxSKRBody caps what is read from the sidecar; an MAA JWT is a few KiB.
const maxSKRBody = 1 << 20

// ErrSKR means the SKR sidecar did not return an MAA token.
var ErrSKR = errors.New("azure: SKR sidecar did not return an MAA token")

// SKR is the azure-cc attestation provider: it asks the SKR sidecar for an
// MAA token whose x-ms-runtime claim carries the operator's public key and
// the attest URL (core-and-optout.md §1.3, azure-aks.md §2). It implements
// attest.Provider and is safe for concurrent use.
type SKR struct {
	// URL is the sidecar, DefaultSKRURL when empty.
	URL string
	// MAABaseURL is the MAA instance; its host goes to the sidecar as
	// maa_endpoint. DefaultMAABaseURL when empty.
	MAABaseURL string
	// Location goes into the runtime data; DefaultLocation when empty.
	Location string
	// Client sends the requests; nil uses a client with a 30 s timeout.
	Client *http.Client
}

// RuntimeData is the JSON the sidecar puts into the MAA token as the
// x-ms-runtime claim. Field order is the reference's.
type RuntimeData struct {
	Location string `json:"location"`
	// PublicKey is the standard base64 of the RSA SubjectPublicKeyInfo DER.
	PublicKey string `json:"publicKey"`
	// AttestationURL is the standard base64 of the attest URL.
	AttestationURL string `json:"attestationUrl"`
}

// Name returns "azure-cc", Core's protocol for this provider.
func (p *SKR) Name() string { return "azure-cc" }

// AttestationRequest posts the runtime data to the sidecar's /attest/maa
// and returns the MAA JWT's bytes. Any status but 200 is a failure: the
// sidecar writes a token after a 403, too (azure-aks.md §2.1).
func (p *SKR) AttestationRequest(ctx context.Context, publicKey, userData []byte) ([]byte, error) {
	rd, err := json.Marshal(RuntimeData{
		Location:       or(p.Location, DefaultLocation),
		PublicKey:      base64.StdEncoding.EncodeToString(publicKey),
		AttestationURL: base64.StdEncoding.EncodeToString(userData),
	})
	if err != nil {
		return nil, err
	}
	maa, err := url.Parse(or(p.MAABaseURL, DefaultMAABaseURL))
	if err != nil || maa.Host == "" {
		return nil, fmt.Errorf("azure: MAA base URL %q has no host", p.MAABaseURL)
	}
	body, err := json.Marshal(struct {
		MAAEndpoint string `json:"maa_endpoint"`
		RuntimeData string `json:"runtime_data"`
	}{maa.Host, base64.StdEncoding.EncodeToString(rd)})
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.base()+"/attest/maa", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := p.client().Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSKR, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxSKRBody))
	if err != nil {
		return nil, fmt.Errorf("%w: read: %v", ErrSKR, err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error string `json:"error"`
		}
		// The body may hold two JSON objects; the first has the reason.
		json.NewDecoder(bytes.NewReader(raw)).Decode(&e)
		return nil, fmt.Errorf("%w: status %d: %s", ErrSKR, resp.StatusCode, firstLine(e.Error))
	}
	var t struct {
		Token string `json:"token"`
	}
	if err := json.NewDecoder(bytes.NewReader(raw)).Decode(&t); err != nil {
		return nil, fmt.Errorf("%w: bad response: %v", ErrSKR, err)
	}
	if t.Token == "" {
		return nil, fmt.Errorf("%w: empty token", ErrSKR)
	}
	return []byte(t.Token), nil
}

// WaitReady waits until the sidecar answers HTTP at all (any status), with
// the bounded schedule b; an early attestation races the sidecar and Core
// reports BAD_PAYLOAD (azure-aks.md §1.3 step 6).
func (p *SKR) WaitReady(ctx context.Context, b Backoff, log *slog.Logger) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return b.retry(ctx, func(attempt int) (bool, error) {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		req, err := http.NewRequestWithContext(cctx, http.MethodGet, p.base()+"/status", nil)
		if err != nil {
			return false, err
		}
		resp, err := p.client().Do(req)
		if err != nil {
			if attempt < b.Attempts {
				log.Info("waiting for the SKR sidecar", "url", p.base(), "attempt", attempt)
			}
			return ctx.Err() == nil, fmt.Errorf("SKR sidecar at %s not reachable after %d attempts: %v", p.base(), attempt, err)
		}
		resp.Body.Close()
		return false, nil
	})
}

func (p *SKR) base() string { return strings.TrimRight(or(p.URL, DefaultSKRURL), "/") }

func (p *SKR) client() *http.Client {
	if p.Client != nil {
		return p.Client
	}
	return defaultSKRClient
}

var defaultSKRClient = &http.Client{Timeout: 30 * time.Second}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
