package api

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode"

	"golang.org/x/net/publicsuffix"

	"github.com/uid2-private-operator/uid2-operator/internal/aesgcm"
	"github.com/uid2-private-operator/uid2-operator/internal/b64"
	"github.com/uid2-private-operator/uid2-operator/internal/identity"
	"github.com/uid2-private-operator/uid2-operator/internal/jsonw"
	"github.com/uid2-private-operator/uid2-operator/internal/optout"
	"github.com/uid2-private-operator/uid2-operator/internal/store"
)

// CSTG statuses and wire messages of the reference (§2.12); clients match
// this text; do not change.
const (
	statusInvalidHTTPOrigin = "invalid_http_origin"
	statusInvalidAppName    = "invalid_app_name"

	msgCSTGNotJSON           = "json payload is not valid"
	msgCSTGEmpty             = "json payload expected but not found"
	msgCSTGBadSubscription   = "bad subscription_id"
	msgCSTGUnauthorized      = "Unauthorized"
	msgCSTGBadOrigin         = "unexpected http origin"
	msgCSTGBadAppName        = "unexpected app name"
	msgCSTGRequired          = "required parameters: payload, iv, public_key"
	msgCSTGBadPublicKey      = "bad public key"
	msgCSTGBadIV             = "bad iv"
	msgCSTGDecryptFailed     = "payload decryption failed"
	msgCSTGInvalidJSON       = "encrypted payload contains invalid json"
	msgCSTGPhoneDisabled     = "phone support not enabled"
	msgCSTGExactlyOne        = "please provide exactly one of: email_hash, phone_hash"
	msgCSTGExactlyOneNoPhone = "please provide email_hash"
)

// cstgStatus maps a CSTG answer to its token-response status.
func cstgStatus(err error, optedOut bool) tokenStatus {
	if err == nil {
		if optedOut {
			return tsOptOut
		}
		return tsSuccess
	}
	e, ok := err.(*Error)
	if !ok {
		return tsUnknown
	}
	switch e.Message {
	case msgCSTGUnauthorized:
		return tsUnauthorized
	case msgCSTGBadOrigin:
		return tsInvalidHTTPOrigin
	case msgCSTGBadAppName:
		return tsInvalidAppName
	case msgCSTGRequired:
		return tsMissingParams
	case msgCSTGBadPublicKey:
		return tsBadPublicKey
	case msgCSTGBadIV:
		return tsBadIV
	case msgCSTGDecryptFailed, msgCSTGInvalidJSON, msgCSTGPhoneDisabled, msgCSTGExactlyOne, msgCSTGExactlyOneNoPhone,
		msgInvalidIdentifier:
		return tsBadPayload
	case msgNoActiveKey:
		return tsNoActiveKey
	}
	return tsUnknown
}

// cstgRequest is the plain JSON body of /v2/token/client-generate. String
// fields are "" when absent or null; has* record presence where it matters.
type cstgRequest struct {
	payload, iv, publicKey string
	subscriptionID         string
	appName                string
	hasApp                 bool
	hasCrypto              bool // payload, iv and public_key all non-null
	timestamp              int64
}

// handleCSTG is POST /v2/token/client-generate (§2.12): no API key; the
// request is decrypted with the ECDH secret of the subscription's server key
// and the client's ephemeral key, and the answer sealed with that secret.
// Checks run in the reference's order.
func (s *Server) handleCSTG(w http.ResponseWriter, r *http.Request) (err error) {
	body, snap, err := s.readRequest(r)
	if err != nil {
		return err
	}
	req, err := parseCSTGRequest(body)
	if err != nil {
		return err
	}
	kp := snap.Keypairs.Get(req.subscriptionID)
	if kp == nil {
		return clientError(msgCSTGBadSubscription)
	}
	// From here the site is known: count the outcome (TokenResponseStatsCollector).
	optedOut := false
	defer func() {
		p := platformInApp
		if !req.hasApp {
			p = platformOf(r)
		}
		s.opt.Metrics.tokenResponse(snap, kp.SiteID, endpointCSTG, cstgStatus(err, optedOut), p)
	}()
	if kp.Disabled {
		return &Error{HTTP: http.StatusUnauthorized, Status: statusUnauthorized, Message: msgCSTGUnauthorized}
	}
	if !s.opt.DisableCSTGDomainCheck {
		if err := checkOriginOrApp(snap.Sites.Get(kp.SiteID), &req, r.Header.Get("Origin")); err != nil {
			return err
		}
	}
	secret, plaintext, err := openCSTG(kp, &req)
	if err != nil {
		return err
	}
	kind, value, err := s.cstgInput(plaintext)
	if err != nil {
		return err
	}
	ih, ok := identity.Parse(kind, value)
	if !ok {
		return clientError(msgInvalidIdentifier)
	}

	now := s.now()
	nowMs := now.UnixMilli()
	flh := identity.FirstLevelHash(ih, snap.Salts.FirstLevel())
	var resp []byte
	if s.optouts.OptedOut(kind.Type(), &flh, snap.Salts.FirstLevel(), optout.ForGenerate) {
		optedOut = true
		resp = statusResponse(statusOptout)
	} else {
		b, err := s.issue(snap, issueParams{
			typ: kind.Type(), flh: flh, siteID: kp.SiteID,
			privacyBits: privacyClientGenerated, established: nowMs, nowMs: nowMs,
		})
		if err != nil {
			return err
		}
		resp = success(b)
	}

	sealed, err := aesgcm.Seal(make([]byte, 0, len(resp)+aesgcm.Overhead), secret, resp, s.rand)
	if err != nil {
		return plainError(http.StatusInternalServerError, err)
	}
	// The reference sets no Content-Type; a nil entry stops net/http from
	// sniffing one.
	w.Header()["Content-Type"] = nil
	w.WriteHeader(http.StatusOK)
	w.Write(b64.AppendEncode(make([]byte, 0, base64.StdEncoding.EncodedLen(len(sealed))), sealed))
	return nil
}

// parseCSTGRequest decodes the body (§2.12 step 1). Like Jackson's String
// fields, scalar values are taken as their text. Unlike the reference, whose
// strict mapping turns unknown fields into a 500, unknown fields are ignored
// (the spec's recommendation, §7), and values of the wrong shape (objects,
// arrays, a non-integer timestamp) get the step-1 400 instead of a 500.
func parseCSTGRequest(body []byte) (cstgRequest, error) {
	var req cstgRequest
	if len(bytes.TrimSpace(body)) == 0 {
		return req, clientError(msgCSTGEmpty)
	}
	if !isJSONObject(body) {
		return req, clientError(msgCSTGNotJSON)
	}
	fields, ok := decodeObject(body)
	if !ok {
		return req, clientError(msgCSTGNotJSON)
	}
	str := func(key string) (string, bool, error) {
		raw := fields[key]
		if !present(raw) {
			return "", false, nil
		}
		if t := bytes.TrimSpace(raw); t[0] == '{' || t[0] == '[' {
			return "", false, clientError(msgCSTGNotJSON)
		}
		return stringValue(raw), true, nil
	}
	var hasPayload, hasIV, hasKey bool
	var err error
	if req.payload, hasPayload, err = str("payload"); err != nil {
		return req, err
	}
	if req.iv, hasIV, err = str("iv"); err != nil {
		return req, err
	}
	if req.publicKey, hasKey, err = str("public_key"); err != nil {
		return req, err
	}
	if req.subscriptionID, _, err = str("subscription_id"); err != nil {
		return req, err
	}
	if req.appName, req.hasApp, err = str("app_name"); err != nil {
		return req, err
	}
	req.hasCrypto = hasPayload && hasIV && hasKey
	if raw := fields["timestamp"]; present(raw) {
		ts, err := strconv.ParseInt(strings.Trim(string(bytes.TrimSpace(raw)), `"`), 10, 64)
		if err != nil {
			return req, clientError(msgCSTGNotJSON)
		}
		req.timestamp = ts
	}
	return req, nil
}

// checkOriginOrApp is step 4 of §2.12: an app_name must be one of the site's
// app names (case-insensitively); otherwise the Origin's registrable domain
// must be one of its domain names.
func checkOriginOrApp(site *store.Site, req *cstgRequest, origin string) error {
	if req.hasApp {
		if site != nil {
			for _, a := range site.AppNames {
				if strings.EqualFold(a, req.appName) {
					return nil
				}
			}
		}
		return &Error{HTTP: http.StatusForbidden, Status: statusInvalidAppName, Message: msgCSTGBadAppName}
	}
	if domain, ok := registrableDomain(origin); ok && site != nil {
		for _, d := range site.DomainNames {
			if d == domain {
				return nil
			}
		}
	}
	return &Error{HTTP: http.StatusForbidden, Status: statusInvalidHTTPOrigin, Message: msgCSTGBadOrigin}
}

// registrableDomain returns the domain an Origin is matched by (OP
// DomainNameCheckUtil with Guava InternetDomainName): the top private domain
// when the host is under a public suffix of the ICANN or private section
// (github.io counts), "localhost" for localhost and one-label
// subdomains of it; otherwise nothing. IP addresses, unknown top-level
// domains, public suffixes themselves and unparseable origins give nothing.
// The port and the scheme are ignored.
func registrableDomain(origin string) (string, bool) {
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return "", false
	}
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	if !validHostname(host) || net.ParseIP(host) != nil {
		return "", false
	}
	if host == "localhost" {
		return host, true
	}
	if sub, ok := strings.CutSuffix(host, ".localhost"); ok && !strings.Contains(sub, ".") {
		return "localhost", true
	}
	// publicsuffix applies the implicit "*" rule to unknown TLDs and reports
	// them like private-section rules (icann=false); Guava has no such rule,
	// and a single-label private rule does not exist, so this tells them apart.
	if suffix, icann := publicsuffix.PublicSuffix(host); !icann && !strings.Contains(suffix, ".") {
		return "", false
	}
	d, err := publicsuffix.EffectiveTLDPlusOne(host)
	if err != nil {
		return "", false
	}
	return d, true
}

// validHostname applies Guava's syntax rules: 1–253 characters, labels of
// 1–63 letters, digits, '-' or '_' that neither start nor end with '-', and
// a last label that does not start with a digit.
func validHostname(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	labels := strings.Split(h, ".")
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for _, r := range l {
			if r != '-' && r != '_' && !unicode.IsLetter(r) && !unicode.IsDigit(r) {
				return false
			}
		}
	}
	last := labels[len(labels)-1]
	return last[0] < '0' || last[0] > '9'
}

// openCSTG is steps 5–8 of §2.12: it derives the shared secret (the raw X
// coordinate of ECDH(server private, client public), used as the AES-256-GCM
// key without a KDF) and opens the payload with AAD [timestamp] or
// [timestamp,"app_name"].
func openCSTG(kp *store.ClientSideKeypair, req *cstgRequest) (secret, plaintext []byte, err error) {
	if !req.hasCrypto {
		return nil, nil, clientError(msgCSTGRequired)
	}
	pub, err := parseClientPublicKey(req.publicKey)
	if err != nil {
		return nil, nil, &Error{HTTP: http.StatusBadRequest, Status: statusClientError, Message: msgCSTGBadPublicKey, Err: err}
	}
	iv, ok := b64.StdString(req.iv)
	if !ok || len(iv) != aesgcm.NonceSize {
		return nil, nil, clientError(msgCSTGBadIV)
	}
	secret, err = kp.Private.ECDH(pub)
	if err != nil {
		return nil, nil, &Error{HTTP: http.StatusBadRequest, Status: statusClientError, Message: msgCSTGBadPublicKey, Err: err}
	}
	ct, ok := b64.StdString(req.payload)
	if !ok {
		return nil, nil, clientError(msgCSTGDecryptFailed)
	}
	block, err := aes.NewCipher(secret)
	if err != nil {
		return nil, nil, plainError(http.StatusInternalServerError, err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, nil, plainError(http.StatusInternalServerError, err)
	}
	plaintext, err = gcm.Open(nil, iv, ct, appendCSTGAAD(nil, req))
	if err != nil {
		return nil, nil, clientError(msgCSTGDecryptFailed)
	}
	if !isJSONObject(plaintext) {
		return nil, nil, clientError(msgCSTGInvalidJSON)
	}
	return secret, plaintext, nil
}

// appendCSTGAAD appends the additional data the client sealed with: the
// compact JSON array [timestamp] or [timestamp,"app_name"], with the string
// escaped as Vert.x's JsonArray encoding (Jackson) does.
func appendCSTGAAD(dst []byte, req *cstgRequest) []byte {
	dst = append(dst, '[')
	dst = jsonw.AppendInt(dst, req.timestamp)
	if req.hasApp {
		dst = append(dst, ',')
		dst = jsonw.AppendString(dst, req.appName)
	}
	return append(dst, ']')
}

// parseClientPublicKey decodes the client's ephemeral key: standard base64
// of an X.509 SubjectPublicKeyInfo for EC P-256, with no prefix.
func parseClientPublicKey(s string) (*ecdh.PublicKey, error) {
	der, ok := b64.StdString(s)
	if !ok {
		return nil, errors.New("public key: not base64")
	}
	k, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, errors.New("public key: not an X.509 public key")
	}
	switch k := k.(type) {
	case *ecdsa.PublicKey:
		pub, err := k.ECDH()
		if err == nil && pub.Curve() == ecdh.P256() {
			return pub, nil
		}
	case *ecdh.PublicKey:
		if k.Curve() == ecdh.P256() {
			return k, nil
		}
	}
	return nil, errors.New("public key: not EC P-256")
}

// cstgInput is step 9 of §2.12: exactly one of email_hash and phone_hash
// (raw email and phone are not accepted).
func (s *Server) cstgInput(plaintext []byte) (identity.InputKind, string, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(plaintext, &fields); err != nil {
		return 0, "", clientError(msgCSTGInvalidJSON)
	}
	email, phone := fields["email_hash"], fields["phone_hash"]
	hasEmail, hasPhone := present(email), present(phone)
	switch {
	case hasPhone && s.opt.DisablePhone:
		return 0, "", clientError(msgCSTGPhoneDisabled)
	case hasEmail == hasPhone:
		if s.opt.DisablePhone {
			return 0, "", clientError(msgCSTGExactlyOneNoPhone)
		}
		return 0, "", clientError(msgCSTGExactlyOne)
	case hasEmail:
		return identity.KindEmailHash, stringValue(email), nil
	}
	return identity.KindPhoneHash, stringValue(phone), nil
}
