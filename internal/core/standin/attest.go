package standin

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/uid2-private-operator/uid2-operator/internal/aesgcm"
	"github.com/uid2-private-operator/uid2-operator/internal/attest"
)

// Core's /attest answers; operators match the status text.
const (
	msgNoAttestationRequest = "no attestation_request attached"
	msgInvalidOperatorType  = "attestation failure; invalid operator type"
	msgBadPublicKey         = "bad public_key"
	msgForced               = "forced by the stand-in"
)

// handleAttest is POST /attest (§1.4): the trusted protocol, or azure-cc's
// MAA check for operators registered with it.
func (s *Server) handleAttest(w http.ResponseWriter, r *http.Request) error {
	op := s.operator(r)
	if op == nil {
		return unauthorized("unrecognized_key")
	}
	if code := int(s.attestStatus.Load()); code != 0 {
		return jsonError(code, msgForced, "")
	}
	var req map[string]json.RawMessage
	if err := json.NewDecoder(io.LimitReader(r.Body, maxBody)).Decode(&req); err != nil {
		return jsonError(http.StatusBadRequest, msgNoAttestationRequest, "")
	}
	var ar, pk, ot string
	json.Unmarshal(req["attestation_request"], &ar)
	json.Unmarshal(req["public_key"], &pk)
	if ar == "" {
		return jsonError(http.StatusBadRequest, msgNoAttestationRequest, "")
	}
	if raw, ok := req["operator_type"]; ok {
		json.Unmarshal(raw, &ot)
		if !strings.EqualFold(ot, op.Type) {
			return jsonError(http.StatusForbidden, msgInvalidOperatorType, "")
		}
	}
	spki, err := base64.StdEncoding.DecodeString(pk)
	if err != nil || len(spki) == 0 {
		return jsonError(http.StatusInternalServerError, "error", msgBadPublicKey)
	}
	if op.Protocol == ProtocolAzureCC {
		evidence, err := base64.StdEncoding.DecodeString(ar)
		if err != nil {
			return jsonError(http.StatusForbidden, "BAD_FORMAT", "")
		}
		if err := s.checkAzureCC(r, evidence, spki); err != nil {
			return err
		}
	}
	exp := s.tokenExpiry()
	enc, err := attest.EncryptToken(nil, spki, s.newToken(op, exp))
	if err != nil {
		return jsonError(http.StatusInternalServerError, "error", msgBadPublicKey)
	}
	s.opt.Log.Info("operator attested", "site_id", op.SiteID, "expires_at", exp.UTC().Format(time.RFC3339))
	writeJSON(w, http.StatusOK, map[string]any{"status": "success", "body": map[string]any{
		"attestation_token": enc,
		"expiresAt":         exp.UTC().Format("2006-01-02T15:04:05.000Z"),
		"optout_url":        baseURL(r),
	}})
	return nil
}

// tokenExpiry is now + TokenLifetime, plus Core's random 300–599 s unless
// NoJitter, in whole milliseconds.
func (s *Server) tokenExpiry() time.Time {
	exp := s.opt.Now().Add(s.opt.TokenLifetime)
	if !s.opt.NoJitter {
		var b [2]byte
		rand.Read(b[:])
		exp = exp.Add(time.Duration(300+int(binary.BigEndian.Uint16(b[:]))%300) * time.Second)
	}
	return exp.Truncate(time.Millisecond)
}

// newToken seals "<operator key hash>,<expires ms>" with the stand-in's key.
func (s *Server) newToken(op *Operator, exp time.Time) string {
	pt := operatorHash(op) + "," + strconv.FormatInt(exp.UnixMilli(), 10)
	ct, _ := aesgcm.SealWith(nil, s.tokenKey, []byte(pt), nil)
	return base64.StdEncoding.EncodeToString(ct) + "-s"
}

// validToken checks an Attestation-Token: ours, same operator, not expired.
func (s *Server) validToken(op *Operator, tok string) bool {
	b64, ok := strings.CutSuffix(tok, "-s")
	if !ok {
		return false
	}
	ct, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return false
	}
	pt, err := aesgcm.OpenWith(nil, s.tokenKey, ct)
	if err != nil {
		return false
	}
	who, expS, ok := strings.Cut(string(pt), ",")
	if !ok || who != operatorHash(op) {
		return false
	}
	exp, err := strconv.ParseInt(expS, 10, 64)
	return err == nil && s.opt.Now().UnixMilli() < exp
}

// operatorHash names the operator inside a token without the key itself.
func operatorHash(op *Operator) string {
	h := sha256.Sum256([]byte(op.Key))
	return hex.EncodeToString(h[:8])
}
