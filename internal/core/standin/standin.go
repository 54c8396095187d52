// Package standin is a stand-in for UID2 Core and Opt-Out
// (core-and-optout.md §7): enough of both for a real operator to attest,
// sync every store, sync opt-outs and replicate logouts, served from a
// dataset in Core file formats (the layout of internal/localdata).
//
// It is a test and demo tool, not a Core: operator keys are compared in
// constant time but kept in memory, and every operator uses the "trusted"
// protocol.
package standin

import (
	"bytes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/uid2-private-operator/uid2-operator/internal/aesgcm"
	"github.com/uid2-private-operator/uid2-operator/internal/attest"
	"github.com/uid2-private-operator/uid2-operator/internal/optout"
	"github.com/uid2-private-operator/uid2-operator/internal/store"
)

// Defaults of the stand-in.
const (
	// DefaultTokenLifetime is Core's att_token_lifetime_seconds default.
	DefaultTokenLifetime = 7200 * time.Second
	// DefaultOptoutFolder is the folder every opt-out location contains.
	DefaultOptoutFolder = "optout/"
	// DefaultSiteID is the site of generated operator keys.
	DefaultSiteID = 999
	maxBody       = 1 << 20
)

// Operator is one operator key the stand-in accepts.
type Operator struct {
	Key    string
	SiteID int32
	// Type is "public" or "private" (Core's default is private).
	Type string
	// Protocol is "trusted" (when "") or ProtocolAzureCC (see AzureCC).
	Protocol string
}

// Options configure a stand-in. The zero value of each optional field is
// documented on it.
type Options struct {
	// Dataset holds the store files at the localdata paths. It is read on
	// every request, so a dataset directory can be edited while serving:
	// bump a metadata version to make operators reload.
	Dataset   fs.FS
	Operators []Operator
	// TokenLifetime of attestation tokens; DefaultTokenLifetime when 0.
	// Core adds a random 300–600 s; so does the stand-in unless NoJitter.
	TokenLifetime time.Duration
	NoJitter      bool
	// SkipTokenCheck accepts refresh calls without a valid Attestation-Token
	// (as Core does for trusted keys). By default the header is checked.
	SkipTokenCheck bool
	// OptoutFolder is contained in every opt-out location; DefaultOptoutFolder when "".
	OptoutFolder string
	// CloudKeys encrypt files for operators that send "Encrypted: true";
	// one key per operator site is generated when nil.
	CloudKeys []store.CloudEncryptionKey
	Now       func() time.Time
	Log       *slog.Logger
	// AzureCC verifies operators with Protocol ProtocolAzureCC; nil
	// rejects them with "protocol not found".
	AzureCC *AzureCC
}

// Server is a running stand-in. Safe for concurrent use.
type Server struct {
	opt      Options
	tokenKey cipher.AEAD
	mux      *http.ServeMux

	attestStatus atomic.Int32 // test hook: forced /attest status

	mu      sync.Mutex
	pending []byte // records replicated since the last delta
	deltas  []deltaFile
	seq     int
}

type deltaFile struct {
	// name is <folder>delta/<date>/optout-delta-000_<ts>_<hex>.dat or
	// <folder>partition/optout-partition-000_<ts>_<hex>.dat.
	name string
	typ  string // "delta" or "partition"
	data []byte
	from int64
	to   int64
}

// New returns a stand-in serving opt.Dataset.
func New(opt Options) (*Server, error) {
	if opt.Dataset == nil {
		return nil, errors.New("standin: no dataset")
	}
	if len(opt.Operators) == 0 {
		return nil, errors.New("standin: no operator keys")
	}
	for i := range opt.Operators {
		if opt.Operators[i].Type == "" {
			opt.Operators[i].Type = "private"
		}
	}
	if opt.TokenLifetime <= 0 {
		opt.TokenLifetime = DefaultTokenLifetime
	}
	if opt.OptoutFolder == "" {
		opt.OptoutFolder = DefaultOptoutFolder
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	var key [32]byte
	rand.Read(key[:])
	a, err := aesgcm.New(key[:])
	if err != nil {
		return nil, err
	}
	if opt.CloudKeys == nil {
		seen := map[int32]bool{}
		for i, o := range opt.Operators {
			if seen[o.SiteID] {
				continue
			}
			seen[o.SiteID] = true
			k := store.CloudEncryptionKey{ID: int32(i + 1), SiteID: o.SiteID, Activates: opt.Now().Unix() - 3600, Created: opt.Now().Unix() - 3600, Secret: make([]byte, 32)}
			rand.Read(k.Secret)
			opt.CloudKeys = append(opt.CloudKeys, k)
		}
	}
	s := &Server{opt: opt, tokenKey: a}
	s.routes()
	return s, nil
}

// NewOperatorKey returns a fresh operator key in the platform's format,
// UID2-O-L-<site>-<6>.<38> (core-and-optout.md §1.1).
func NewOperatorKey(siteID int32) string {
	b := make([]byte, 33)
	rand.Read(b)
	s := base64.RawURLEncoding.EncodeToString(b) // 44 chars
	s = strings.NewReplacer("-", "a", "_", "b").Replace(s)
	return fmt.Sprintf("UID2-O-L-%d-%s.%s", siteID, s[:6], s[6:44])
}

// Handler returns the stand-in's HTTP handler.
func (s *Server) Handler() http.Handler { return s.mux }

// SetAttestStatus makes /attest answer code (with Core's body for it) until
// reset with 0. Used to test the operator's fatal and retry paths.
func (s *Server) SetAttestStatus(code int) { s.attestStatus.Store(int32(code)) }

// CloudKeys returns the keys encrypted files are sealed with.
func (s *Server) CloudKeys() []store.CloudEncryptionKey { return s.opt.CloudKeys }

func (s *Server) routes() {
	s.mux = http.NewServeMux()
	for _, p := range store.Parts() {
		pattern := "GET " + p.CorePath
		switch p.Format {
		case store.FormatLocated:
			s.mux.HandleFunc(pattern, s.refresh(p.PublicOnly, func(w http.ResponseWriter, r *http.Request, op *Operator) {
				s.serveMetadata(w, r, op, p.Dataset, p.MetadataKey)
			}))
		case store.FormatSalts:
			s.mux.HandleFunc(pattern, s.refresh(p.PublicOnly, func(w http.ResponseWriter, r *http.Request, op *Operator) {
				s.serveSaltsMetadata(w, r, op, p.Dataset)
			}))
		case store.FormatInline:
			s.mux.HandleFunc(pattern, s.refresh(p.PublicOnly, func(w http.ResponseWriter, r *http.Request, _ *Operator) {
				s.serveFile(w, p.Dataset, "application/json")
			}))
		}
	}
	s.mux.HandleFunc("GET /cloud_encryption_keys/retrieve", s.refresh(false, s.serveCloudKeys))
	s.mux.HandleFunc("POST /attest", s.handleAttest)
	s.mux.HandleFunc("GET /files/{path...}", func(w http.ResponseWriter, r *http.Request) {
		s.serveFile(w, r.PathValue("path"), "application/octet-stream")
	})
	s.mux.HandleFunc("GET /efiles/{key}/{path...}", s.serveEncrypted)
	s.mux.HandleFunc("GET /optout/refresh", s.refresh(false, s.serveOptoutListing))
	s.mux.HandleFunc("GET /optout/files/{path...}", s.serveOptoutFile)
	s.mux.HandleFunc("POST /optout/replicate", s.handleReplicate)
	s.mux.HandleFunc("GET /ops/healthcheck", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "OK") })
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

func unauthorized(w http.ResponseWriter, reason string) {
	writeJSON(w, http.StatusUnauthorized, map[string]string{"status": "unauthorized", "reason": reason})
}

// operator authenticates the bearer operator key.
func (s *Server) operator(r *http.Request) *Operator {
	key, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || key == "" {
		return nil
	}
	var found *Operator
	for i := range s.opt.Operators {
		if subtle.ConstantTimeCompare([]byte(s.opt.Operators[i].Key), []byte(key)) == 1 {
			found = &s.opt.Operators[i]
		}
	}
	return found
}

func (s *Server) baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// handleAttest is POST /attest for the trusted protocol (§1.4).
func (s *Server) handleAttest(w http.ResponseWriter, r *http.Request) {
	op := s.operator(r)
	if op == nil {
		unauthorized(w, "unrecognized_key")
		return
	}
	if code := int(s.attestStatus.Load()); code != 0 {
		writeJSON(w, code, map[string]string{"status": "forced by the stand-in"})
		return
	}
	var req map[string]json.RawMessage
	if err := json.NewDecoder(io.LimitReader(r.Body, maxBody)).Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"status": "no attestation_request attached"})
		return
	}
	var ar, pk, ot string
	json.Unmarshal(req["attestation_request"], &ar)
	json.Unmarshal(req["public_key"], &pk)
	if ar == "" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"status": "no attestation_request attached"})
		return
	}
	if raw, ok := req["operator_type"]; ok {
		json.Unmarshal(raw, &ot)
		if !strings.EqualFold(ot, op.Type) {
			writeJSON(w, http.StatusForbidden, map[string]string{"status": "attestation failure; invalid operator type"})
			return
		}
	}
	spki, err := base64.StdEncoding.DecodeString(pk)
	if err != nil || len(spki) == 0 {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"status": "error", "message": "bad public_key"})
		return
	}
	if op.Protocol == ProtocolAzureCC {
		evidence, err := base64.StdEncoding.DecodeString(ar)
		if err != nil || !s.checkAzureCC(w, r, evidence, spki) {
			if err != nil {
				writeJSON(w, http.StatusForbidden, map[string]string{"status": "BAD_FORMAT"})
			}
			return
		}
	}
	exp := s.opt.Now().Add(s.opt.TokenLifetime)
	if !s.opt.NoJitter {
		var b [2]byte
		rand.Read(b[:])
		exp = exp.Add(time.Duration(300+int(binary.BigEndian.Uint16(b[:]))%300) * time.Second)
	}
	exp = exp.Truncate(time.Millisecond)
	tok := s.newToken(op, exp)
	enc, err := attest.EncryptToken(nil, spki, tok)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"status": "error", "message": "bad public_key"})
		return
	}
	s.opt.Log.Info("operator attested", "site_id", op.SiteID, "expires_at", exp.UTC().Format(time.RFC3339))
	writeJSON(w, http.StatusOK, map[string]any{"status": "success", "body": map[string]any{
		"attestation_token": enc,
		"expiresAt":         exp.UTC().Format("2006-01-02T15:04:05.000Z"),
		"optout_url":        s.baseURL(r),
	}})
}

// newToken seals "<operator key hash>,<expires ms>" with the stand-in's key.
func (s *Server) newToken(op *Operator, exp time.Time) string {
	h := sha256.Sum256([]byte(op.Key))
	pt := hex.EncodeToString(h[:8]) + "," + strconv.FormatInt(exp.UnixMilli(), 10)
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
	h := sha256.Sum256([]byte(op.Key))
	if !ok || who != hex.EncodeToString(h[:8]) {
		return false
	}
	exp, err := strconv.ParseInt(expS, 10, 64)
	return err == nil && s.opt.Now().UnixMilli() < exp
}

// refresh wraps a refresh endpoint: operator key, then Attestation-Token
// (§1.7), then for sites/keypairs/services the public-operator check.
func (s *Server) refresh(publicOnly bool, h func(http.ResponseWriter, *http.Request, *Operator)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		op := s.operator(r)
		if op == nil {
			unauthorized(w, "unrecognized_key")
			return
		}
		if !s.opt.SkipTokenCheck && !s.validToken(op, r.Header.Get("Attestation-Token")) {
			unauthorized(w, "insufficient_role")
			return
		}
		if publicOnly && !strings.EqualFold(op.Type, "public") {
			writeJSON(w, http.StatusForbidden, map[string]string{"status": "error", "message": "endpoint " + r.URL.Path + " is for public operators only"})
			return
		}
		h(w, r, op)
	}
}

func (s *Server) serveFile(w http.ResponseWriter, p, ctype string) {
	b, err := fs.ReadFile(s.opt.Dataset, path.Clean(p))
	if err != nil {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.Write(b)
}

// location rewrites a dataset path to the URL that serves it: plain, or
// encrypted with the operator site's newest cloud key.
func (s *Server) location(r *http.Request, op *Operator, p string) (string, error) {
	if r.Header.Get("Encrypted") != "true" {
		return s.baseURL(r) + "/files/" + p, nil
	}
	k := s.siteKey(op.SiteID)
	if k == nil {
		return "", fmt.Errorf("no cloud encryption key for site %d", op.SiteID)
	}
	return fmt.Sprintf("%s/efiles/%d/%s", s.baseURL(r), k.ID, p), nil
}

func (s *Server) siteKey(site int32) *store.CloudEncryptionKey {
	var best *store.CloudEncryptionKey
	for i, k := range s.opt.CloudKeys {
		if k.SiteID == site && (best == nil || k.Activates > best.Activates) {
			best = &s.opt.CloudKeys[i]
		}
	}
	return best
}

func (s *Server) serveMetadata(w http.ResponseWriter, r *http.Request, op *Operator, file, key string) {
	b, err := fs.ReadFile(s.opt.Dataset, file)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"status": "error", "message": "error processing " + key + " refresh"})
		return
	}
	md, err := store.ParseMetadata(b, key)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"status": "error", "message": "error processing " + key + " refresh"})
		return
	}
	var doc map[string]any
	json.Unmarshal(b, &doc)
	loc, err := s.location(r, op, md.Location)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"status": "error", "message": err.Error()})
		return
	}
	doc[key] = map[string]string{"location": loc}
	writeJSON(w, http.StatusOK, doc)
}

func (s *Server) serveSaltsMetadata(w http.ResponseWriter, r *http.Request, op *Operator, file string) {
	b, err := fs.ReadFile(s.opt.Dataset, file)
	var doc map[string]any
	if err == nil {
		dec := json.NewDecoder(strings.NewReader(string(b)))
		dec.UseNumber()
		err = dec.Decode(&doc)
	}
	files, _ := doc["salts"].([]any)
	if err != nil || len(files) == 0 {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"status": "error", "message": "error processing salts refresh"})
		return
	}
	for _, f := range files {
		entry, _ := f.(map[string]any)
		p, _ := entry["location"].(string)
		if entry == nil || p == "" {
			writeJSON(w, http.StatusInternalServerError, map[string]string{"status": "error", "message": "error processing salts refresh"})
			return
		}
		if entry["location"], err = s.location(r, op, p); err != nil {
			writeJSON(w, http.StatusInternalServerError, map[string]string{"status": "error", "message": err.Error()})
			return
		}
	}
	writeJSON(w, http.StatusOK, doc)
}

func (s *Server) serveCloudKeys(w http.ResponseWriter, _ *http.Request, op *Operator) {
	var keys []store.CloudEncryptionKey
	for _, k := range s.opt.CloudKeys {
		if k.SiteID == op.SiteID {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"status": "error", "message": "no cloud encryption keys for the site"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"cloud_encryption_keys": keys})
}

func (s *Server) serveEncrypted(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("key"), 10, 32)
	var key *store.CloudEncryptionKey
	for i, k := range s.opt.CloudKeys {
		if err == nil && int64(k.ID) == id {
			key = &s.opt.CloudKeys[i]
		}
	}
	b, ferr := fs.ReadFile(s.opt.Dataset, path.Clean(r.PathValue("path")))
	if key == nil || ferr != nil {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	out, err := store.EncryptFile(key.ID, key.Secret, b)
	if err != nil {
		http.Error(w, "error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(out)
}

// handleReplicate is POST /optout/replicate (§3.5): the record goes into
// the next delta file.
func (s *Server) handleReplicate(w http.ResponseWriter, r *http.Request) {
	if s.operator(r) == nil {
		unauthorized(w, "unrecognized_key")
		return
	}
	q := r.URL.Query()
	if len(q["identity_hash"]) != 1 || len(q["advertising_id"]) != 1 {
		writeJSON(w, http.StatusBadRequest, map[string]string{"status": "client_error", "message": "identity_hash and advertising_id are required"})
		return
	}
	h, err1 := base64.StdEncoding.DecodeString(q.Get("identity_hash"))
	ad, err2 := base64.StdEncoding.DecodeString(q.Get("advertising_id"))
	if err1 != nil || err2 != nil || len(h) != 32 || (len(ad) != 32 && len(ad) != 33) {
		writeJSON(w, http.StatusBadRequest, map[string]string{"status": "client_error", "message": "bad identity_hash or advertising_id"})
		return
	}
	var rec optout.Record
	copy(rec.FLH[:], h)
	if rec.FLH == [32]byte{} || rec.FLH == allFF {
		writeJSON(w, http.StatusBadRequest, map[string]string{"status": "client_error", "message": "reserved identity_hash"})
		return
	}
	rec.AdIDLen = uint8(copy(rec.AdvertisingID[:], ad))
	now := s.opt.Now().Unix()
	rec.Timestamp = now
	s.mu.Lock()
	s.pending = optout.AppendRecord(s.pending, &rec)
	s.mu.Unlock()
	w.Header().Set("Content-Type", "text/plain")
	io.WriteString(w, strconv.FormatInt(now, 10))
}

var allFF = [32]byte{0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
	0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}

// AddOptOuts appends records to the next delta file (tests and datasets).
func (s *Server) AddOptOuts(recs ...optout.Record) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range recs {
		s.pending = optout.AppendRecord(s.pending, &recs[i])
	}
}

// AddDelta publishes a delta file named for time at, holding recs between
// the delta sentinels (tests of the operator's file selection).
func (s *Server) AddDelta(at time.Time, recs ...optout.Record) {
	at = at.UTC().Truncate(time.Second)
	data := optout.AppendSentinel(nil, false, at.Unix())
	for i := range recs {
		data = optout.AppendRecord(data, &recs[i])
	}
	data = optout.AppendSentinel(data, true, at.Unix())
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deltas = append(s.deltas, deltaFile{name: s.optoutName("delta", at), typ: "delta", data: data, from: at.Unix(), to: at.Unix()})
}

// AddPartition publishes a partition file named for time at: recs sorted
// by first-level hash, as Opt-Out writes them (§3.3).
func (s *Server) AddPartition(at time.Time, recs ...optout.Record) {
	at = at.UTC().Truncate(time.Second)
	sorted := slices.Clone(recs)
	slices.SortFunc(sorted, func(a, b optout.Record) int { return bytes.Compare(a.FLH[:], b.FLH[:]) })
	var data []byte
	for i := range sorted {
		data = optout.AppendRecord(data, &sorted[i])
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deltas = append(s.deltas, deltaFile{name: s.optoutName("partition", at), typ: "partition", data: data, from: at.Unix(), to: at.Unix()})
}

// optoutName returns the S3 key of a delta or partition file (§3.2).
func (s *Server) optoutName(typ string, at time.Time) string {
	var rnd [4]byte
	rand.Read(rnd[:])
	file := fmt.Sprintf("optout-%s-000_%s_%s.dat", typ, strings.ReplaceAll(at.Format("2006-01-02T15:04:05Z"), ":", "."), hex.EncodeToString(rnd[:]))
	if typ == "partition" {
		return s.opt.OptoutFolder + "partition/" + file
	}
	return s.opt.OptoutFolder + "delta/" + at.Format("2006-01-02") + "/" + file
}

// rotate writes pending records into a new delta file. Callers hold s.mu.
func (s *Server) rotate() {
	if len(s.pending) == 0 {
		return
	}
	now := s.opt.Now().UTC()
	from := now.Unix()
	if n := len(s.deltas); n > 0 {
		from = s.deltas[n-1].to
	}
	data := optout.AppendSentinel(nil, false, from)
	data = append(data, s.pending...)
	data = optout.AppendSentinel(data, true, now.Unix())
	s.pending = nil
	s.seq++
	s.deltas = append(s.deltas, deltaFile{name: s.optoutName("delta", now), typ: "delta", data: data, from: from, to: now.Unix()})
}

func (s *Server) serveOptoutListing(w http.ResponseWriter, r *http.Request, _ *Operator) {
	s.mu.Lock()
	s.rotate()
	logs := make([]map[string]any, 0, len(s.deltas))
	var version int64
	for _, d := range s.deltas {
		logs = append(logs, map[string]any{"type": d.typ, "from": d.from, "to": d.to, "location": s.baseURL(r) + "/optout/files/" + d.name})
		version = max(version, d.to)
	}
	s.mu.Unlock()
	if version == 0 {
		version = s.opt.Now().Unix()
	}
	writeJSON(w, http.StatusOK, map[string]any{"version": version, "generated": s.opt.Now().Unix(), "optout_logs": logs})
}

func (s *Server) serveOptoutFile(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("path")
	s.mu.Lock()
	var data []byte
	for _, d := range s.deltas {
		if d.name == name {
			data = d.data
		}
	}
	s.mu.Unlock()
	if data == nil {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.Write(data)
}
