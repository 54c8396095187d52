// Package standin is a stand-in for UID2 Core and Opt-Out
// (core-and-optout.md §7): enough of both for a real operator to attest,
// sync every store, sync opt-outs and replicate logouts, served from a
// dataset in Core file formats (the layout of internal/localdata).
//
// It is a test and demo tool, not a Core: operator keys are compared in
// constant time but kept in memory, and every operator uses the "trusted"
// protocol unless it is registered for azure-cc.
//
// The files follow the concerns: keys.go generates operator and cloud
// encryption keys; attest.go answers /attest and checks attestation
// tokens (azurecc.go adds Azure's MAA check); files.go serves store
// metadata and files, plain or encrypted, routed from the store table
// (store.Parts); optout.go is Opt-Out (replication, delta and partition
// files, the listing); fortest.go holds the test hooks, reachable only
// through Server.ForTest. Handlers return an error (the project's
// func(w, r) error form); errors.go renders them as Core does.
package standin

import (
	"crypto/cipher"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/uid2-private-operator/uid2-operator/internal/aesgcm"
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
	// ForTest holds the hooks tests use to force failures and publish
	// opt-out files; nothing outside tests calls them.
	ForTest ForTest

	opt      Options
	tokenKey cipher.AEAD
	mux      *http.ServeMux

	attestStatus atomic.Int32 // ForTest.SetAttestStatus: forced /attest status

	mu      sync.Mutex
	pending []byte // records replicated since the last delta
	deltas  []deltaFile
}

// New returns a stand-in serving opt.Dataset.
func New(opt Options) (*Server, error) {
	if opt.Dataset == nil {
		return nil, errors.New("standin: no dataset")
	}
	if len(opt.Operators) == 0 {
		return nil, errors.New("standin: no operator keys")
	}
	opt.Operators = append([]Operator(nil), opt.Operators...)
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
		opt.CloudKeys = newCloudKeys(opt.Operators, opt.Now())
	}
	s := &Server{opt: opt, tokenKey: a}
	s.ForTest = ForTest{s}
	s.routes()
	return s, nil
}

// Handler returns the stand-in's HTTP handler.
func (s *Server) Handler() http.Handler { return s.mux }

// route is one endpoint of the route table.
type route struct {
	pattern string
	handle  func(w http.ResponseWriter, r *http.Request) error
}

func (s *Server) routes() {
	s.mux = http.NewServeMux()
	// Store metadata: one route per row of the store table.
	for _, p := range store.Parts() {
		s.handle(route{"GET " + p.CorePath, s.authorized(p.PublicOnly, s.serveStoreMetadata(p))})
	}
	for _, rt := range []route{
		{"POST /attest", s.handleAttest},
		{"GET /cloud_encryption_keys/retrieve", s.authorized(false, s.serveCloudKeys)},
		{"GET /files/{path...}", s.serveFile},
		{"GET /efiles/{key}/{path...}", s.serveEncrypted},
		{"GET /optout/refresh", s.authorized(false, s.serveOptoutListing)},
		{"GET /optout/files/{path...}", s.serveOptoutFile},
		{"POST /optout/replicate", s.handleReplicate},
		{"GET /ops/healthcheck", func(w http.ResponseWriter, _ *http.Request) error {
			_, err := io.WriteString(w, "OK")
			return err
		}},
	} {
		s.handle(rt)
	}
}

func (s *Server) handle(rt route) { s.mux.Handle(rt.pattern, s.adapt(rt.handle)) }

// operator authenticates the bearer operator key; nil when unknown.
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

// authorized wraps a refresh endpoint: operator key, then Attestation-Token
// (§1.7), then for sites/keypairs/services the public-operator check.
func (s *Server) authorized(publicOnly bool, h func(http.ResponseWriter, *http.Request, *Operator) error) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		op := s.operator(r)
		if op == nil {
			return unauthorized("unrecognized_key")
		}
		if !s.opt.SkipTokenCheck && !s.validToken(op, r.Header.Get("Attestation-Token")) {
			return unauthorized("insufficient_role")
		}
		if publicOnly && !strings.EqualFold(op.Type, "public") {
			return jsonError(http.StatusForbidden, "error", "endpoint "+r.URL.Path+" is for public operators only")
		}
		return h(w, r, op)
	}
}

// baseURL is the origin the request reached, for the locations the
// stand-in hands out.
func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}
