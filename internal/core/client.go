// Package core is the operator's client of UID2 Core and Opt-Out
// (core-and-optout.md §1–§3): the /attest exchange and token lifecycle, a
// store.Source that adds the §1.6 headers, per-store sync loops, the opt-out
// sync and the /optout/replicate replicator.
package core

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/uid2-private-operator/uid2-operator/internal/attest"
	"github.com/uid2-private-operator/uid2-operator/internal/clock"
)

// Defaults of the client.
const (
	// DefaultTimeout bounds one call to Core, Opt-Out or a download.
	DefaultTimeout = 60 * time.Second
	// AttestCheckInterval is how often the re-attestation check runs (§1.8).
	AttestCheckInterval = 60 * time.Second
	// AttestFailureLimit is how long /attest may keep answering non-200
	// (other than 401/403) before the operator gives up (§1.8, hard-coded 12 h).
	AttestFailureLimit = 12 * time.Hour
	// MaxMetadataSize bounds a metadata or listing response.
	MaxMetadataSize = 64 << 20
	// MaxFileSize bounds a downloaded data file.
	MaxFileSize = 2 << 30
)

// Header names of the Core protocol (§1.6). Core matches them exactly.
const (
	HeaderAttestationToken = "Attestation-Token"
	HeaderAttestationJWT   = "Attestation-JWT"
	HeaderAppVersion       = "X-UID2-AppVersion"
	HeaderInstanceID       = "UID-Instance-Id"
	HeaderTraceID          = "UID-Trace-Id"
	HeaderEncrypted        = "Encrypted"
)

// AttestError is a non-200 answer of /attest. 401 and 403 are fatal: the
// operator must exit (§1.8).
type AttestError struct {
	Status int
	// Reason is Core's "status" field, if any (never contains secrets).
	Reason string
	// GaveUp is set when retryable failures lasted past AttestFailureLimit.
	GaveUp bool
}

func (e *AttestError) Error() string {
	msg := fmt.Sprintf("attest: core answered HTTP %d", e.Status)
	if e.Reason != "" {
		msg += " (" + e.Reason + ")"
	}
	if e.Fatal() {
		msg += ": the operator key was rejected"
	}
	if e.GaveUp {
		msg += fmt.Sprintf(": attestation failing for more than %s", AttestFailureLimit)
	}
	return msg
}

// Fatal reports whether the operator must exit: 401/403, or failures that
// lasted past AttestFailureLimit.
func (e *AttestError) Fatal() bool {
	return e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden || e.GaveUp
}

// ExitCode makes cli.Run exit with 1 on this error.
func (e *AttestError) ExitCode() int { return 1 }

// IsFatal reports whether err carries a fatal attestation failure.
func IsFatal(err error) bool {
	var ae *AttestError
	return errors.As(err, &ae) && ae.Fatal()
}

// StatusError is a non-2xx answer of a Core, Opt-Out or download GET.
type StatusError struct {
	URL    string // without query: presigned queries carry credentials
	Status int
}

func (e *StatusError) Error() string { return fmt.Sprintf("GET %s: HTTP %d", e.URL, e.Status) }

// Client talks to Core and Opt-Out for one operator. It attests on first use
// and keeps the token fresh (Run). Safe for concurrent use once configured.
type Client struct {
	// AttestURL is the full /attest URL; it is also the attestation user data.
	AttestURL string
	// OperatorKey is the bearer token of every call. Never logged.
	OperatorKey string
	// OperatorType is sent in /attest ("public"/"private"), even when empty.
	OperatorType string
	Provider     attest.Provider
	// AppVersion is this operator's version (X-UID2-AppVersion, /attest body).
	AppVersion string
	// InstanceID is the UID-Instance-Id header; NewInstanceID makes one.
	InstanceID string
	// Encrypted adds "Encrypted: true" to Core calls (encrypted_files).
	Encrypted bool
	HTTP      *http.Client // nil: a client with DefaultTimeout
	// Clock runs Run's checks and dates the token; nil: the system clock.
	Clock clock.Clock
	Rand  io.Reader // RSA key generation; nil: crypto/rand
	Log   *slog.Logger
	// OnAttest, when set, is called after every successful attestation.
	OnAttest func(*attest.Token)
	// OnAttestError, when set, is called after every failed attestation.
	OnAttestError func(error)

	mu           sync.Mutex // serialises attestations
	tok          atomic.Pointer[attest.Token]
	optoutURL    atomic.Pointer[string]
	firstFailure time.Time // first non-200 (not 401/403) since the last success
	rec          refreshRecord
}

// AttestState returns the attestation record: LastSuccess is the last
// successful /attest, and failures include transport errors.
func (c *Client) AttestState() RefreshState { return c.rec.state() }

// NewInstanceID returns "<prefix>-<16 hex digits>" (§1.6 UID-Instance-Id).
func NewInstanceID(prefix string) string {
	var b [8]byte
	rand.Read(b[:])
	return prefix + "-" + strconv.FormatUint(binary.BigEndian.Uint64(b[:]), 16)
}

func (c *Client) now() time.Time { return clock.Or(c.Clock).Now() }

func (c *Client) httpClient() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return &http.Client{Timeout: DefaultTimeout}
}

func (c *Client) log() *slog.Logger {
	if c.Log != nil {
		return c.Log
	}
	return slog.New(slog.DiscardHandler)
}

// Token returns the current attestation token, or nil before the first
// attestation.
func (c *Client) Token() *attest.Token { return c.tok.Load() }

// OptoutURL returns the Opt-Out base URL from the latest attestation that
// named one ("" when none did).
func (c *Client) OptoutURL() string {
	if p := c.optoutURL.Load(); p != nil {
		return *p
	}
	return ""
}

// Attest performs one /attest exchange with a fresh RSA key and stores the
// token. Non-200 answers return *AttestError; see Fatal.
func (c *Client) Attest(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.attestLocked(ctx)
}

func (c *Client) attestLocked(ctx context.Context) error {
	err := c.attestOnce(ctx)
	if err != nil && !errors.Is(err, context.Canceled) {
		c.rec.failure(c.now(), err)
	}
	if err != nil && c.OnAttestError != nil {
		c.OnAttestError(err)
	}
	return err
}

func (c *Client) attestOnce(ctx context.Context) error {
	if c.Provider == nil {
		return errors.New("attest: no attestation provider")
	}
	key, err := attest.NewKey(c.Rand)
	if err != nil {
		return err
	}
	req, err := attest.NewRequest(ctx, c.Provider, key, c.AttestURL, c.OperatorType, c.AppVersion)
	if err != nil {
		return err
	}
	body, err := json.Marshal(req)
	if err != nil {
		return err
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, c.AttestURL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("attest: %w", err)
	}
	hr.Header.Set("Content-Type", "application/json")
	c.setCommon(hr.Header)
	resp, err := c.httpClient().Do(hr)
	if err != nil {
		// Transport errors don't start the failure timer (§1.8).
		return fmt.Errorf("attest: %w", err)
	}
	defer resp.Body.Close()
	rb, err := io.ReadAll(io.LimitReader(resp.Body, MaxMetadataSize))
	if err != nil {
		return fmt.Errorf("attest: read response: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		ae := &AttestError{Status: resp.StatusCode, Reason: statusField(rb)}
		if !ae.Fatal() {
			now := c.now()
			if c.firstFailure.IsZero() {
				c.firstFailure = now
			} else if now.Sub(c.firstFailure) > AttestFailureLimit {
				ae.GaveUp = true
			}
		}
		return ae
	}
	c.firstFailure = time.Time{}
	tok, err := attest.ParseResponse(rb, key)
	if err != nil {
		return err
	}
	if tok.OptoutURL != "" {
		u := tok.OptoutURL
		c.optoutURL.Store(&u)
	}
	c.tok.Store(tok)
	c.rec.success(c.now(), 0)
	c.log().Info("attested", "platform", c.Provider.Name(), "expires_at", tok.ExpiresAt.UTC().Format(time.RFC3339))
	if c.OnAttest != nil {
		c.OnAttest(tok)
	}
	return nil
}

// statusField extracts a short "status" string from a Core error body.
func statusField(b []byte) string {
	var doc struct {
		Status string `json:"status"`
	}
	if json.Unmarshal(b, &doc) != nil || len(doc.Status) > 100 {
		return ""
	}
	return doc.Status
}

// ensure attests when there is no valid token (the reference's getWithAttest).
func (c *Client) ensure(ctx context.Context) error {
	if c.Token().Valid(c.now()) {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.Token().Valid(c.now()) {
		return nil
	}
	return c.attestLocked(ctx)
}

// Run re-attests when the token is within attest.RenewBefore of expiry,
// checking every AttestCheckInterval (every interval when > 0). Failures
// are logged and retried; Run returns a fatal *AttestError, or nil when ctx
// ends.
func (c *Client) Run(ctx context.Context, interval time.Duration) error {
	if interval <= 0 {
		interval = AttestCheckInterval
	}
	t := clock.Or(c.Clock).NewTicker(interval)
	defer t.Stop()
	for {
		if c.Token().Renew(c.now()) {
			if err := c.Attest(ctx); err != nil {
				if IsFatal(err) {
					return err
				}
				if ctx.Err() != nil {
					return nil
				}
				c.log().Warn("re-attestation failed; retrying", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C():
		}
	}
}

func (c *Client) setCommon(h http.Header) {
	if strings.TrimSpace(c.OperatorKey) != "" {
		h.Set("Authorization", "Bearer "+c.OperatorKey)
	}
	h.Set(HeaderAppVersion, attest.AppVersionHeader(c.AppVersion))
	h.Set(HeaderInstanceID, c.InstanceID)
}

// GetCore GETs a Core URL with the §1.6 headers, attesting first if needed.
func (c *Client) GetCore(ctx context.Context, url string) ([]byte, error) {
	return c.getAttested(ctx, url, false)
}

// GetOptout GETs an Opt-Out URL with the §1.6 headers (Opt-Out JWT, no
// Encrypted header), attesting first if needed.
func (c *Client) GetOptout(ctx context.Context, url string) ([]byte, error) {
	return c.getAttested(ctx, url, true)
}

func (c *Client) getAttested(ctx context.Context, url string, optout bool) ([]byte, error) {
	if err := c.ensure(ctx); err != nil {
		c.logDownloadFailure(url, 0, "attestation", err)
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	c.setCommon(req.Header)
	if tok := c.Token(); tok != nil {
		req.Header.Set(HeaderAttestationToken, tok.Value)
		jwt := tok.JWTCore
		if optout {
			jwt = tok.JWTOptout
		}
		if jwt != "" {
			req.Header.Set(HeaderAttestationJWT, jwt)
		}
	}
	if c.Encrypted && !optout {
		req.Header.Set(HeaderEncrypted, "true")
	}
	return c.do(req, MaxMetadataSize)
}

// Download GETs a data file location (a presigned URL) with no headers at
// all, as the reference does (§1.6).
func (c *Client) Download(ctx context.Context, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	return c.do(req, MaxFileSize)
}

func (c *Client) do(req *http.Request, limit int64) ([]byte, error) {
	b, status, kind, err := c.get(req, limit)
	if err != nil {
		c.logDownloadFailure(req.URL.String(), status, kind, err)
	}
	return b, err
}

// E12 is the runtime error the UID2 docs' private-operator table tells
// operators to look for when Core, Opt-Out or storage downloads fail; its
// text is what that table quotes and the reference writes. Operators
// search logs for it; do not change.
const (
	msgE12     = "E12: Data Download Failure"
	docsE12URL = "https://unifiedid.com/docs/guides/integration-options-private-operator"
)

// logDownloadFailure writes the E12 line for a failed GET: the HTTP status
// when there was one, else the kind of failure, and the URL without its
// query (presigned URLs carry credentials there). err comes from get or
// ensure, whose texts carry no secrets.
func (c *Client) logDownloadFailure(url string, status int, kind string, err error) {
	msg := msgE12 + " - exception: " + kind
	if status != 0 {
		msg = fmt.Sprintf("%s - HTTP response code %d", msgE12, status)
	}
	c.log().Error(msg, "url", redactURL(url), "err", err, "docs", docsE12URL)
}

// get runs one GET and returns the body, or the HTTP status (0 when none
// arrived) or the kind of failure, and the error.
func (c *Client) get(req *http.Request, limit int64) (body []byte, status int, kind string, err error) {
	resp, err := c.httpClient().Do(req)
	if err != nil {
		kind = "connection"
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			kind = "timeout"
		}
		return nil, 0, kind, fmt.Errorf("GET %s: %w", redactURL(req.URL.String()), unwrapURLError(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		return nil, resp.StatusCode, "", &StatusError{URL: redactURL(req.URL.String()), Status: resp.StatusCode}
	}
	b, err := readLimited(req, resp, limit)
	if err != nil {
		return nil, 0, "read", err
	}
	return b, 0, "", nil
}

// readLimited reads a 2xx body of at most limit bytes, whole.
func readLimited(req *http.Request, resp *http.Response, limit int64) ([]byte, error) {
	var buf bytes.Buffer
	if resp.ContentLength > 0 && resp.ContentLength <= limit {
		buf.Grow(int(resp.ContentLength))
	}
	n, err := buf.ReadFrom(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", redactURL(req.URL.String()), err)
	}
	if n > limit {
		return nil, fmt.Errorf("GET %s: response larger than %d bytes", redactURL(req.URL.String()), limit)
	}
	if resp.ContentLength >= 0 && n != resp.ContentLength {
		return nil, fmt.Errorf("GET %s: truncated response (%d of %d bytes)", redactURL(req.URL.String()), n, resp.ContentLength)
	}
	return buf.Bytes(), nil
}

// redactURL drops the query, which carries presigned credentials.
func redactURL(u string) string {
	if i := strings.IndexByte(u, '?'); i >= 0 {
		return u[:i]
	}
	return u
}

// unwrapURLError drops *url.Error's echo of the full URL.
func unwrapURLError(err error) error {
	var ue interface{ Unwrap() error }
	if errors.As(err, &ue) {
		if inner := ue.Unwrap(); inner != nil {
			return inner
		}
	}
	return err
}
