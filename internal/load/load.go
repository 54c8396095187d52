// Package load drives a UID2 operator with fresh v2 request envelopes from N
// keep-alive connections for a fixed time and measures requests per second,
// latency percentiles, errors by kind and, given the server's PID, the
// server's own CPU time per request (utime+stime from /proc/PID/stat, so the
// client's crypto does not count). It also provides the hello-world baseline
// server that every operator figure is compared with: the HTTP floor on the
// same machine, measured with the same client and the same request bytes.
// It backs `uid2-operator load`.
package load

import (
	"bytes"
	"context"
	"crypto/cipher"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/uid2-private-operator/uid2-operator/internal/aesgcm"
	"github.com/uid2-private-operator/uid2-operator/internal/client"
	"github.com/uid2-private-operator/uid2-operator/internal/envelope"
)

// Endpoint names an operator endpoint the tool can drive.
type Endpoint string

// The endpoints the tool drives.
const (
	Generate Endpoint = "generate" // POST /v2/token/generate {"email":…}
	Refresh  Endpoint = "refresh"  // POST /v2/token/refresh with a 388-char refresh token
	Validate Endpoint = "validate" // POST /v2/token/validate {"token":…,"email":…}
	MapV2    Endpoint = "map-v2"   // POST /v2/identity/map {"email":[…]}
	MapV3    Endpoint = "map-v3"   // POST /v3/identity/map {"email":[…]}
)

// Endpoints lists every endpoint in the order reports use.
var Endpoints = []Endpoint{Generate, Refresh, Validate, MapV2, MapV3}

// Path returns the endpoint's URL path.
func (e Endpoint) Path() string {
	switch e {
	case Generate:
		return "/v2/token/generate"
	case Refresh:
		return "/v2/token/refresh"
	case Validate:
		return "/v2/token/validate"
	case MapV2:
		return "/v2/identity/map"
	case MapV3:
		return "/v3/identity/map"
	}
	return ""
}

// IsMap reports whether the endpoint takes a batch of identities.
func (e Endpoint) IsMap() bool { return e == MapV2 || e == MapV3 }

// ParseEndpoint returns the endpoint named s.
func ParseEndpoint(s string) (Endpoint, error) {
	for _, e := range Endpoints {
		if string(e) == s {
			return e, nil
		}
	}
	return "", fmt.Errorf("unknown endpoint %q (want generate, refresh, validate, map-v2 or map-v3)", s)
}

// Bounds of Options.
const (
	MaxConns      = 1024
	MaxIdentities = 30000 // 30,000 short emails still fit the operator's 1 MiB body limit
	MaxDuration   = time.Hour
	// maxSamples bounds the latency samples one connection keeps (32 MiB);
	// later requests are counted but not sampled.
	maxSamples = 1 << 22
	// maxResponse bounds one response body.
	maxResponse = 16 << 20
	// maxErrorSample bounds the example message kept per error kind.
	maxErrorSample = 200
)

// Defaults of Options.
const (
	DefaultConns      = 32
	DefaultDuration   = 10 * time.Second
	DefaultWarmup     = 2 * time.Second
	DefaultIdentities = 5000
	DefaultTimeout    = 10 * time.Second
)

// Options describe one load run. Zero fields take the defaults above.
type Options struct {
	Endpoint   Endpoint
	Conns      int           // keep-alive connections, each with one request in flight
	Duration   time.Duration // the measured window
	Warmup     time.Duration // sent before the window and not counted; negative means none
	Binary     bool          // application/octet-stream envelopes instead of base64 text
	Identities int           // emails per identity-map request
	Timeout    time.Duration // per request
}

func (o *Options) fill() error {
	if o.Endpoint.Path() == "" {
		return fmt.Errorf("endpoint: %q is not one of generate, refresh, validate, map-v2, map-v3", o.Endpoint)
	}
	if o.Conns == 0 {
		o.Conns = DefaultConns
	}
	if o.Duration == 0 {
		o.Duration = DefaultDuration
	}
	if o.Warmup == 0 {
		o.Warmup = DefaultWarmup
	}
	if o.Warmup < 0 {
		o.Warmup = 0
	}
	if o.Identities == 0 {
		o.Identities = DefaultIdentities
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	switch {
	case o.Conns < 1 || o.Conns > MaxConns:
		return fmt.Errorf("conns: must be 1…%d (got %d)", MaxConns, o.Conns)
	case o.Duration < 0 || o.Duration > MaxDuration:
		return fmt.Errorf("duration: must be positive and at most %v (got %v)", MaxDuration, o.Duration)
	case o.Warmup > MaxDuration:
		return fmt.Errorf("warmup: at most %v (got %v)", MaxDuration, o.Warmup)
	case o.Identities < 1 || o.Identities > MaxIdentities:
		return fmt.Errorf("identities: must be 1…%d (got %d)", MaxIdentities, o.Identities)
	case o.Timeout < 0:
		return fmt.Errorf("timeout: must be positive (got %v)", o.Timeout)
	}
	return nil
}

// Credentials are an operator client's: the base URL of the operator that
// mints the refresh and advertising tokens, the API key and the base64
// secret.
type Credentials struct {
	BaseURL string
	APIKey  string
	Secret  string
}

// Server is the target of one run.
type Server struct {
	Name    string // "operator" or "baseline" in reports
	BaseURL string
	// PID is the server's process; 0 leaves the CPU figures out.
	PID int
	// Baseline marks the hello-world server: responses are checked for
	// status 200 and BaselineBodySize bytes instead of being decrypted.
	Baseline bool
	// ProfileURL, if set, is a net/http/pprof base URL (…/debug/pprof/);
	// the run saves a CPU profile of the measured window to ProfileFile.
	ProfileURL  string
	ProfileFile string
}

// Workload is everything the requests of one run need, prepared once and
// reused for the baseline and operator runs so both get the same bytes:
// payloads per connection, and the tokens minted by the operator for refresh
// and validate.
type Workload struct {
	opts    Options
	apiKey  string
	secret  []byte
	payload [][]byte       // envelope JSON per connection
	refresh []refreshToken // per connection
}

type refreshToken struct {
	token string
	key   cipher.AEAD // the refresh_response_key
}

// Prepare validates o and builds the workload. For refresh and validate it
// calls generate on the operator of creds to obtain tokens.
func Prepare(ctx context.Context, creds Credentials, o Options) (*Workload, error) {
	if err := o.fill(); err != nil {
		return nil, err
	}
	secret, err := base64.StdEncoding.DecodeString(creds.Secret)
	if err != nil || len(secret) != 32 {
		return nil, errors.New("secret: must be base64 of 32 bytes")
	}
	w := &Workload{opts: o, apiKey: creds.APIKey, secret: secret}
	c := &client.Client{BaseURL: creds.BaseURL, APIKey: creds.APIKey, Secret: creds.Secret, Binary: o.Binary,
		HTTP: &http.Client{Timeout: o.Timeout}}
	for i := range o.Conns {
		email := "load-" + strconv.Itoa(i) + "@example.com"
		switch o.Endpoint {
		case Generate:
			w.payload = append(w.payload, []byte(`{"email":"`+email+`"}`))
		case MapV2, MapV3:
			w.payload = append(w.payload, mapPayload(i, o.Identities))
		case Validate:
			id, err := generate(ctx, c, email)
			if err != nil {
				return nil, err
			}
			p, _ := json.Marshal(map[string]string{"token": id.AdvertisingToken, "email": email})
			w.payload = append(w.payload, p)
		case Refresh:
			id, err := generate(ctx, c, email)
			if err != nil {
				return nil, err
			}
			key, err := base64.StdEncoding.DecodeString(id.RefreshResponseKey)
			if err != nil {
				return nil, errors.New("generate: refresh_response_key is not base64")
			}
			aead, err := aesgcm.New(key)
			if err != nil {
				return nil, fmt.Errorf("generate: refresh_response_key: %w", err)
			}
			w.refresh = append(w.refresh, refreshToken{token: id.RefreshToken, key: aead})
		}
	}
	return w, nil
}

// Options returns the options after defaults.
func (w *Workload) Options() Options { return w.opts }

// generate mints an identity for email on the operator.
func generate(ctx context.Context, c *client.Client, email string) (client.Identity, error) {
	var id client.Identity
	out, err := c.Do(ctx, Generate.Path(), []byte(`{"email":"`+email+`"}`))
	if err != nil {
		return id, fmt.Errorf("prepare: generate: %w", err)
	}
	r, err := client.ParseResponse(out)
	if err != nil || r.Status != "success" {
		return id, fmt.Errorf("prepare: generate: status %q %s", r.Status, r.Message)
	}
	if err := json.Unmarshal(r.Body, &id); err != nil {
		return id, fmt.Errorf("prepare: generate: %w", err)
	}
	return id, nil
}

// mapPayload is {"email":[…]} with n distinct emails for connection conn.
func mapPayload(conn, n int) []byte {
	b := make([]byte, 0, 12+n*28)
	b = append(b, `{"email":[`...)
	for i := range n {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `"m`...)
		b = strconv.AppendInt(b, int64(conn), 10)
		b = append(b, '-')
		b = strconv.AppendInt(b, int64(i), 10)
		b = append(b, `@example.com"`...)
	}
	return append(b, "]}"...)
}

// Result is what one run measured. Counts cover the requests that started
// and finished inside the measured window.
type Result struct {
	Server     string
	Endpoint   Endpoint
	Binary     bool
	Conns      int
	Identities int // per request; 0 for endpoints without a batch
	Requests   int64
	Elapsed    time.Duration // the measured window
	Latency    Latency
	Errors     map[string]int64  // by kind: "http 4xx", "timeout", "decrypt", …
	ErrorText  map[string]string // one example message per kind, truncated
	Sampled    bool              // false when a connection hit the sample bound
	// ServerCPU is the server's utime+stime over the window; CPUKnown is
	// false when no PID was given.
	ServerCPU time.Duration
	CPUKnown  bool
	ServerRSS int64 // bytes, at the end of the window
}

// RequestsPerSecond is the completed requests over the window.
func (r Result) RequestsPerSecond() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Requests) / r.Elapsed.Seconds()
}

// CPUPerRequest is the server's CPU per request in µs (0 when unknown).
func (r Result) CPUPerRequest() float64 {
	if !r.CPUKnown || r.Requests == 0 {
		return 0
	}
	return float64(r.ServerCPU.Nanoseconds()) / 1e3 / float64(r.Requests)
}

// CPUPerIdentity is the server's CPU per mapped identity in µs (0 unless a
// map run with a PID).
func (r Result) CPUPerIdentity() float64 {
	if r.Identities == 0 {
		return 0
	}
	return r.CPUPerRequest() / float64(r.Identities)
}

// ErrorCount is the total of Errors.
func (r Result) ErrorCount() int64 {
	var n int64
	for _, c := range r.Errors {
		n += c
	}
	return n
}

// Run phases, shared by the connections of one run.
const (
	phaseWarmup int32 = iota
	phaseMeasure
	phaseDone
)

// Run sends the workload to srv for the warm-up and the measured window and
// returns what the window measured. It returns an error only when it could
// not measure (the context ended, the server's /proc entry is gone).
func (w *Workload) Run(ctx context.Context, srv Server) (Result, error) {
	o := w.opts
	res := Result{Server: srv.Name, Endpoint: o.Endpoint, Binary: o.Binary, Conns: o.Conns,
		Errors: map[string]int64{}, ErrorText: map[string]string{}, Sampled: true, CPUKnown: srv.PID > 0}
	if o.Endpoint.IsMap() {
		res.Identities = o.Identities
	}
	var phase atomic.Int32
	conns := make([]*conn, o.Conns)
	for i := range conns {
		conns[i] = w.newConn(i, srv)
	}
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Go(func() { c.loop(ctx, &phase) })
	}
	stop := func() {
		phase.Store(phaseDone)
		wg.Wait()
		for _, c := range conns {
			c.transport.CloseIdleConnections()
		}
	}
	if err := sleep(ctx, o.Warmup); err != nil {
		stop()
		return res, err
	}
	var before Stat
	if srv.PID > 0 {
		var err error
		if before, err = ReadStat(srv.PID); err != nil {
			stop()
			return res, err
		}
	}
	var profile chan error
	if srv.ProfileURL != "" {
		profile = make(chan error, 1)
		go func() { profile <- saveProfile(ctx, srv.ProfileURL, srv.ProfileFile, o.Duration) }()
	}
	start := time.Now()
	phase.Store(phaseMeasure)
	err := sleep(ctx, o.Duration)
	phase.Store(phaseDone)
	res.Elapsed = time.Since(start)
	if err == nil && srv.PID > 0 {
		after, serr := ReadStat(srv.PID)
		if serr != nil {
			err = serr
		} else {
			res.ServerCPU = after.CPU() - before.CPU()
			res.ServerRSS = after.RSSBytes()
		}
	}
	stop()
	if profile != nil {
		if perr := <-profile; perr != nil && err == nil {
			err = perr
		}
	}
	if err != nil {
		return res, err
	}
	var samples []time.Duration
	for _, c := range conns {
		res.Requests += c.requests
		samples = append(samples, c.samples...)
		res.Sampled = res.Sampled && !c.truncated
		for k, n := range c.errors {
			res.Errors[k] += n
			if _, ok := res.ErrorText[k]; !ok {
				res.ErrorText[k] = c.errorText[k]
			}
		}
	}
	res.Latency = summarise(samples)
	return res, nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// saveProfile fetches a CPU profile of the next d from a pprof base URL.
func saveProfile(ctx context.Context, base, file string, d time.Duration) error {
	secs := max(1, int(d/time.Second))
	u := base + "profile?seconds=" + strconv.Itoa(secs)
	ctx, cancel := context.WithTimeout(ctx, d+30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("profile: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("profile: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("profile: %s answered %d", u, resp.StatusCode)
	}
	f, err := os.Create(file)
	if err != nil {
		return fmt.Errorf("profile: %w", err)
	}
	if _, err := io.Copy(f, io.LimitReader(resp.Body, 256<<20)); err != nil {
		f.Close()
		return fmt.Errorf("profile: %w", err)
	}
	return f.Close()
}

// conn is one keep-alive connection and its request loop. Only its own
// goroutine touches it until Run has waited for the loop.
type conn struct {
	w         *Workload
	srv       Server
	url       string
	auth      string
	client    *http.Client
	transport *http.Transport
	payload   []byte
	refresh   refreshToken
	rng       *rand.ChaCha8
	seal      []byte // the sealed envelope
	body      []byte // the request body on the wire
	resp      []byte // the response body
	scratch   []byte // decoded response
	nonce     [8]byte

	requests  int64
	samples   []time.Duration
	truncated bool
	errors    map[string]int64
	errorText map[string]string
}

func (w *Workload) newConn(i int, srv Server) *conn {
	// One transport per connection with one connection each: N
	// connections exactly, each reused for every request.
	tr := &http.Transport{
		Proxy:                 nil,
		DialContext:           (&net.Dialer{Timeout: w.opts.Timeout, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          1,
		MaxIdleConnsPerHost:   1,
		MaxConnsPerHost:       1,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: w.opts.Timeout,
		DisableCompression:    true,
	}
	var seed [32]byte
	binary.LittleEndian.PutUint64(seed[:], uint64(time.Now().UnixNano()))
	binary.LittleEndian.PutUint64(seed[8:], uint64(i))
	c := &conn{
		w: w, srv: srv, transport: tr,
		url:       srv.BaseURL + w.opts.Endpoint.Path(),
		auth:      "Bearer " + w.apiKey,
		client:    &http.Client{Transport: tr, Timeout: w.opts.Timeout},
		rng:       rand.NewChaCha8(seed),
		errors:    map[string]int64{},
		errorText: map[string]string{},
	}
	if w.payload != nil {
		c.payload = w.payload[i]
	}
	if w.refresh != nil {
		c.refresh = w.refresh[i]
	}
	return c
}

func (c *conn) loop(ctx context.Context, phase *atomic.Int32) {
	for ctx.Err() == nil {
		p := phase.Load()
		if p == phaseDone {
			return
		}
		t0 := time.Now()
		kind, msg := c.once(ctx)
		elapsed := time.Since(t0)
		if p != phaseMeasure || phase.Load() != phaseMeasure {
			continue // started in the warm-up or finished after the window
		}
		if kind != "" {
			c.errors[kind]++
			if _, ok := c.errorText[kind]; !ok {
				if len(msg) > maxErrorSample {
					msg = msg[:maxErrorSample] + "…"
				}
				c.errorText[kind] = msg
			}
			continue
		}
		c.requests++
		if len(c.samples) < maxSamples {
			c.samples = append(c.samples, elapsed)
		} else {
			c.truncated = true
		}
	}
}

// once sends one request and checks its answer. It returns the error kind
// ("" on success) and a message for the report.
func (c *conn) once(ctx context.Context) (kind, msg string) {
	o := c.w.opts
	mode := envelope.ModeText
	if o.Binary {
		mode = envelope.ModeBinary
	}
	contentType := mode.ContentType()
	if o.Endpoint == Refresh {
		c.body = append(c.body[:0], c.refresh.token...)
	} else {
		binary.LittleEndian.PutUint64(c.nonce[:], c.rng.Uint64())
		var err error
		c.seal, err = envelope.SealRequest(c.seal[:0], c.w.secret, c.payload, time.Now(), c.nonce, nil)
		if err != nil {
			return "seal", err.Error()
		}
		c.body = envelope.AppendBody(c.body[:0], mode, c.seal)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(c.body))
	if err != nil {
		return "request", err.Error()
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Authorization", c.auth)
	resp, err := c.client.Do(req)
	if err != nil {
		return transportKind(err), err.Error()
	}
	c.resp, err = readAll(c.resp[:0], resp.Body, maxResponse)
	resp.Body.Close()
	if err != nil {
		return "read", err.Error()
	}
	if resp.StatusCode != http.StatusOK {
		return "http " + strconv.Itoa(resp.StatusCode), string(c.resp)
	}
	if c.srv.Baseline {
		if len(c.resp) != BaselineBodySize {
			return "body", fmt.Sprintf("baseline answered %d bytes, want %d", len(c.resp), BaselineBodySize)
		}
		return "", ""
	}
	var doc []byte
	if o.Endpoint == Refresh {
		sealed := c.resp
		if !o.Binary {
			n, err := base64.StdEncoding.Decode(c.grow(len(c.resp)), c.resp)
			if err != nil {
				return "decrypt", "response is not base64"
			}
			sealed = c.scratch[:n]
		}
		if doc, err = aesgcm.OpenWith(sealed[aesgcm.NonceSize:aesgcm.NonceSize], c.refresh.key, sealed); err != nil {
			return "decrypt", err.Error()
		}
	} else if doc, _, err = envelope.OpenResponse(c.resp, mode, c.w.secret, c.nonce); err != nil {
		return "decrypt", err.Error()
	}
	if !bytes.Contains(doc, []byte(`"status":"success"`)) {
		return "status", string(doc[:min(len(doc), maxErrorSample)])
	}
	return "", ""
}

// grow returns c.scratch with room for n bytes.
func (c *conn) grow(n int) []byte {
	if cap(c.scratch) < n {
		c.scratch = make([]byte, n)
	}
	c.scratch = c.scratch[:n]
	return c.scratch
}

// readAll appends r to dst, failing past limit bytes.
func readAll(dst []byte, r io.Reader, limit int) ([]byte, error) {
	for {
		if len(dst) == cap(dst) {
			dst = append(dst, 0)[:len(dst)]
		}
		n, err := r.Read(dst[len(dst):cap(dst)])
		dst = dst[:len(dst)+n]
		if len(dst) > limit {
			return dst, fmt.Errorf("response larger than %d bytes", limit)
		}
		if err == io.EOF {
			return dst, nil
		}
		if err != nil {
			return dst, err
		}
	}
}

// transportKind names a failed round trip.
func transportKind(err error) string {
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "reset"
	}
	return "transport"
}
