// Package client calls a UID2 operator the way the official SDKs do: it
// seals v2 request envelopes, checks the echoed nonce and decrypts responses
// (operator-api.md §1.4–§1.5, §2.2). It backs `uid2-operator request` and the
// end-to-end tests.
package client

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/uid2-private-operator/uid2-operator/internal/aesgcm"
	"github.com/uid2-private-operator/uid2-operator/internal/envelope"
)

// DefaultTimeout bounds one request when Client.HTTP is nil.
const DefaultTimeout = 30 * time.Second

// maxResponse bounds the response bodies the client reads.
const maxResponse = 64 << 20

// Client calls one operator with one API key.
type Client struct {
	BaseURL string // e.g. http://localhost:8080
	APIKey  string
	// Secret is the client secret as issued: base64 of 32 bytes.
	Secret string
	// Binary sends application/octet-stream envelopes, like the Java SDK;
	// otherwise base64 text, like the Python SDK.
	Binary bool
	// Plain sends and expects plain JSON (operators with enable_v2_encryption=false).
	Plain bool
	HTTP  *http.Client
	Now   func() time.Time
}

// StatusError is a non-200 answer; Body is the operator's (unencrypted) body.
type StatusError struct {
	Code int
	Body []byte
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("HTTP %d: %s", e.Code, strings.TrimSpace(string(e.Body)))
}

func (c *Client) httpClient() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return &http.Client{Timeout: DefaultTimeout}
}

func (c *Client) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

func (c *Client) secret() ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(c.Secret)
	if err != nil || len(b) != 32 {
		return nil, errors.New("secret: must be base64 of 32 bytes")
	}
	return b, nil
}

// Do sends payload (a JSON object, or empty) to path as a v2 request and
// returns the decrypted response JSON.
func (c *Client) Do(ctx context.Context, path string, payload []byte) ([]byte, error) {
	if c.Plain {
		return c.post(ctx, path, "application/json", payload, true)
	}
	secret, err := c.secret()
	if err != nil {
		return nil, err
	}
	var nonce [8]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return nil, err
	}
	env, err := envelope.SealRequest(nil, secret, payload, c.now(), nonce, rand.Reader)
	if err != nil {
		return nil, err
	}
	mode, contentType, body := envelope.ModeText, "text/plain", []byte(base64.StdEncoding.EncodeToString(env))
	if c.Binary {
		mode, contentType, body = envelope.ModeBinary, "application/octet-stream", env
	}
	resp, err := c.post(ctx, path, contentType, body, true)
	if err != nil {
		return nil, err
	}
	out, _, err := envelope.OpenResponse(resp, mode, secret, nonce)
	if err != nil {
		return nil, fmt.Errorf("decrypt response: %w", err)
	}
	return out, nil
}

// Refresh sends a refresh token as /v2/token/refresh expects it and decrypts
// the answer with the refresh_response_key of the identity that held it.
// An empty responseKey sends the token as is and expects plain JSON back.
func (c *Client) Refresh(ctx context.Context, refreshToken, responseKey string) ([]byte, error) {
	contentType := "text/plain"
	if c.Binary {
		contentType = "application/octet-stream"
	}
	resp, err := c.post(ctx, "/v2/token/refresh", contentType, []byte(refreshToken), c.APIKey != "")
	if err != nil {
		return nil, err
	}
	if responseKey == "" || c.Plain {
		return resp, nil
	}
	key, err := base64.StdEncoding.DecodeString(responseKey)
	if err != nil {
		return nil, errors.New("refresh_response_key: not base64")
	}
	sealed := resp
	if !c.Binary {
		if sealed, err = base64.StdEncoding.DecodeString(string(resp)); err != nil {
			return nil, fmt.Errorf("decrypt response: not base64")
		}
	}
	out, err := aesgcm.Open(key, sealed)
	if err != nil {
		return nil, fmt.Errorf("decrypt response: %w", err)
	}
	return out, nil
}

func (c *Client) post(ctx context.Context, path, contentType string, body []byte, auth bool) ([]byte, error) {
	u := strings.TrimRight(c.BaseURL, "/") + "/" + strings.TrimLeft(path, "/")
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", contentType)
	if auth && c.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+c.APIKey)
	}
	resp, err := c.httpClient().Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, &StatusError{Code: resp.StatusCode, Body: b}
	}
	return b, nil
}

// Identity is the body of a successful token generate or refresh (§4.7).
type Identity struct {
	AdvertisingToken   string `json:"advertising_token"`
	RefreshToken       string `json:"refresh_token"`
	IdentityExpires    int64  `json:"identity_expires"`
	RefreshExpires     int64  `json:"refresh_expires"`
	RefreshFrom        int64  `json:"refresh_from"`
	RefreshResponseKey string `json:"refresh_response_key"`
}

// Response is the decrypted {"body":…,"status":…} document.
type Response struct {
	Status  string          `json:"status"`
	Message string          `json:"message,omitempty"`
	Body    json.RawMessage `json:"body,omitempty"`
}

// ParseResponse decodes a decrypted response document.
func ParseResponse(b []byte) (Response, error) {
	var r Response
	if err := json.Unmarshal(b, &r); err != nil {
		return r, fmt.Errorf("response: %w", err)
	}
	return r, nil
}
