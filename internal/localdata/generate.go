// Package localdata holds the embedded local-mode dataset — clients, keysets,
// keys, salts, sites, a client-side keypair and runtime config, in exactly the
// file formats UID2 Core serves (core-and-optout.md §2.4, §4.3) — and the
// reproducible generator that made it.
//
// The dataset is generated from a fixed seed, so `uid2-operator local generate`
// rewrites byte-identical files. Besides the stores it holds an opt-out
// partition with the identities the official e2e suite (IABTechLab/uid2-e2e)
// expects to be opted out in local mode. Salt timestamps are re-based to the current
// date when the dataset is opened (Open), so some buckets have always rotated
// within the last 90 days and the demo keeps working for years.
package localdata

import (
	"bytes"
	"crypto/ecdh"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/uid2-private-operator/uid2-operator/internal/identity"
	"github.com/uid2-private-operator/uid2-operator/internal/optout"
	"github.com/uid2-private-operator/uid2-operator/internal/store"
)

// Generated is the fixed "generated" instant of the dataset. Open shifts salt
// timestamps by whole days from here to the current day.
var Generated = time.Date(2026, time.November, 1, 0, 0, 0, 0, time.UTC)

// Dataset shape.
const (
	// SaltBuckets is the local salt file size; production uses 1,048,576.
	SaltBuckets = 4096
	seed        = "uid2-operator local dataset v1" // changing it changes every credential
	// addedSeed drives the values of clients added after the first dataset,
	// so that every value of v1 (quoted in the README) stays the same.
	addedSeed = "uid2-operator local dataset v2 additions"
	dayMs     = int64(24 * time.Hour / time.Millisecond)
)

// File paths inside the dataset; metadata locations are relative to the root.
const (
	ClientsMetadata  = "clients/metadata.json"
	KeysetsMetadata  = "keysets/metadata.json"
	KeysMetadata     = "keyset_keys/metadata.json"
	SaltsMetadata    = "salts/metadata.json"
	SitesMetadata    = "sites/metadata.json"
	KeypairsMetadata = "client_side_keypairs/metadata.json"
	RuntimeConfig    = "runtime_config/metadata.json"
	CredentialsFile  = "credentials.json"
	// OptOutPartition holds 72-byte opt-out records sorted by first-level
	// hash: the format of Opt-Out's partition files (core-and-optout.md §3.3).
	OptOutPartition = "optout/partition.dat"
	saltsFile       = "salts/salts.txt"
)

// MockOptOutEmails are opted out in the dataset: uid2-e2e's local-only test
// expects /v2/token/generate to answer optout for them
// (OperatorLocalOnlyTest, "optout local mock email").
var MockOptOutEmails = []string{"local-mock-optout@example.com"}

// Credential is one demo API client.
type Credential struct {
	APIKey string `json:"api_key"`
	Secret string `json:"secret"`
	SiteID int32  `json:"site_id"`
}

// CSTGCredential is what a publisher needs for client-side token generation.
type CSTGCredential struct {
	SubscriptionID  string `json:"subscription_id"`
	ServerPublicKey string `json:"server_public_key"`
	Origin          string `json:"origin"`
}

// Credentials are the dataset's demo credentials, printed by
// `uid2-operator local credentials`.
type Credentials struct {
	All       Credential `json:"all"`
	Generator Credential `json:"generator"`
	Mapper    Credential `json:"mapper"`
	IDReader  Credential `json:"id_reader"`
	Sharer    Credential `json:"sharer"`
	Optout    Credential `json:"optout"`
	// NonSharing is a sharer that shares with nobody and that no other
	// site shares with: uid2-e2e's "non-sharing recipient".
	NonSharing Credential     `json:"non_sharing"`
	CSTG       CSTGCredential `json:"cstg"`
}

// NamedCredential is one client of the credentials table.
type NamedCredential struct {
	// Name is the client's key in credentials.json ("all", "generator", …).
	Name string
	*Credential
}

// Clients returns the client credentials under their credentials.json
// names, in the table's order: the one list the generator fills and every
// printed table (local credentials, serve, core) walks.
func (c *Credentials) Clients() []NamedCredential {
	return []NamedCredential{
		{"all", &c.All}, {"generator", &c.Generator}, {"mapper", &c.Mapper}, {"id_reader", &c.IDReader},
		{"sharer", &c.Sharer}, {"optout", &c.Optout}, {"non_sharing", &c.NonSharing},
	}
}

// demo sites and the client of each. "all" holds every public-API role; its
// keyset lets the id_reader and sharer sites decrypt, so it can act as
// uid2-e2e's CLIENT with "sharer" as its sharing recipient and "non_sharing"
// (SHARER only, empty allow list) as the non-sharing recipient. allowed is
// the keyset's allowed_sites: nil is null (own site, and ID_READER callers),
// an empty list allows no other site. added clients draw their random values
// from addedSeed.
var demoClients = []struct {
	name    string
	site    int32
	roles   []string
	domain  []string
	apps    []string
	allowed []int32
	added   bool
}{
	{"all", 1001, []string{"GENERATOR", "MAPPER", "ID_READER", "SHARER", "OPTOUT"}, []string{"localhost", "demo.example"}, []string{"com.example.demo"}, []int32{1004, 1005}, false},
	{"generator", 1002, []string{"GENERATOR"}, []string{"localhost", "publisher.example"}, nil, nil, false},
	{"mapper", 1003, []string{"MAPPER"}, []string{"advertiser.example"}, nil, nil, false},
	{"id_reader", 1004, []string{"ID_READER"}, []string{"dsp.example"}, nil, nil, false},
	{"sharer", 1005, []string{"SHARER"}, []string{"sharer.example"}, nil, []int32{1001}, false},
	{"optout", 1006, []string{"OPTOUT"}, nil, nil, nil, false},
	{"non_sharing", 1007, []string{"SHARER"}, []string{"nonsharing.example"}, nil, []int32{}, true},
}

// Generate builds the dataset from the fixed seed. The result is identical on
// every run; it is what `uid2-operator local generate` writes.
func Generate() (map[string][]byte, error) {
	var s [32]byte
	copy(s[:], seed)
	var a [32]byte
	copy(a[:], addedSeed)
	g := generator{rng: rand.New(rand.NewChaCha8(s)), added: rand.New(rand.NewChaCha8(a)), files: map[string][]byte{}}
	return g.run()
}

type generator struct {
	rng   *rand.Rand // the stream every helper draws from
	added *rand.Rand // the stream of values added after v1
	files map[string][]byte
}

// use makes the helpers draw from the added stream when added is true, until
// restore is called.
func (g *generator) use(added bool) (restore func()) {
	if !added {
		return func() {}
	}
	g.rng, g.added = g.added, g.rng
	return func() { g.rng, g.added = g.added, g.rng }
}

func (g *generator) bytes(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(g.rng.Uint32())
	}
	return b
}

func (g *generator) b64(n int) string { return base64.StdEncoding.EncodeToString(g.bytes(n)) }

const alnum = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

func (g *generator) alnum(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alnum[g.rng.IntN(len(alnum))]
	}
	return string(b)
}

func (g *generator) json(name string, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	g.files[name] = buf.Bytes()
	return nil
}

func (g *generator) metadata(name, key, location string) error {
	return g.json(name, map[string]any{
		"version":   1,
		"generated": Generated.Unix(),
		key:         map[string]string{"location": location},
	})
}

func (g *generator) run() (map[string][]byte, error) {
	gen := Generated.Unix()
	var creds Credentials
	credByName := map[string]*Credential{}
	for _, c := range creds.Clients() {
		credByName[c.Name] = c.Credential
	}

	// Clients: formatted keys (§1.3) stored as salted SHA-512 hashes. The plain
	// key is kept in the file for humans, as Core's mock data does.
	var clients []map[string]any
	var sites []map[string]any
	for _, c := range demoClients {
		restore := g.use(c.added)
		rnd := g.b64(33)
		key := fmt.Sprintf("UID2-C-L-%d-%s.%s", c.site, rnd[:6], rnd[6:])
		salt := g.bytes(32)
		h := sha512.New()
		h.Write(salt)
		h.Write([]byte(key))
		secret := g.b64(32)
		clients = append(clients, map[string]any{
			"key":      key,
			"key_hash": base64.StdEncoding.EncodeToString(h.Sum(nil)),
			"key_salt": base64.StdEncoding.EncodeToString(salt),
			"secret":   secret,
			"name":     "Demo " + c.name,
			"contact":  c.name + "@demo.example",
			"created":  gen - 30*86400,
			"roles":    c.roles,
			"site_id":  c.site,
			"disabled": false,
			"key_id":   key[:len(fmt.Sprintf("UID2-C-L-%d-", c.site))+5],
		})
		*credByName[c.name] = Credential{APIKey: key, Secret: secret, SiteID: c.site}
		site := map[string]any{
			"id": c.site, "name": "Demo " + c.name, "enabled": true, "clientTypes": []string{"PUBLISHER"},
			"domain_names": nonNil(c.domain), "app_names": nonNil(c.apps), "visible": true, "created": gen - 30*86400,
		}
		sites = append(sites, site)
		restore()
	}

	// Keysets: master, refresh, fallback publisher and one default keyset per
	// demo site with the site's allow list (demoClients).
	type keyset struct {
		id, site int32
		name     string
		allowed  []int32
		added    bool
	}
	keysets := []keyset{{-1, -1, "Master", nil, false}, {-2, -2, "Refresh", nil, false}, {2, 2, "Fallback publisher", nil, false}}
	for _, c := range demoClients {
		keysets = append(keysets, keyset{c.site, c.site, "Demo " + c.name, c.allowed, c.added})
	}
	var ksJSON, keyJSON []map[string]any
	activates := gen - 30*86400
	expires := Generated.AddDate(10, 0, 0).Unix() // valid for years
	for i, ks := range keysets {
		var allowed any
		if ks.allowed != nil {
			allowed = ks.allowed
		}
		ksJSON = append(ksJSON, map[string]any{
			"keyset_id": ks.id, "site_id": ks.site, "name": ks.name, "allowed_sites": allowed,
			"created": activates, "enabled": true, "default": true,
		})
		restore := g.use(ks.added)
		keyJSON = append(keyJSON, map[string]any{
			"id": int32(i + 1), "keyset_id": ks.id, "created": activates, "activates": activates,
			"expires": expires, "secret": g.b64(32),
		})
		restore()
	}

	// One CSTG keypair for the generator's site.
	priv, err := ecdh.P256().NewPrivateKey(g.p256Scalar())
	if err != nil {
		return nil, err
	}
	privDER, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, err
	}
	pubDER, err := x509.MarshalPKIXPublicKey(priv.PublicKey())
	if err != nil {
		return nil, err
	}
	sub := g.alnum(10)
	pub := "UID2-X-L-" + base64.StdEncoding.EncodeToString(pubDER)
	keypairs := []map[string]any{{
		"subscription_id": sub, "public_key": pub,
		"private_key": "UID2-Y-L-" + base64.StdEncoding.EncodeToString(privDER),
		"site_id":     int32(1002), "contact": "generator@demo.example", "created": gen - 30*86400,
		"disabled": false, "name": "Demo CSTG keypair",
	}}
	creds.CSTG = CSTGCredential{SubscriptionID: sub, ServerPublicKey: pub, Origin: "http://localhost"}

	if err := g.saltFiles(); err != nil {
		return nil, err
	}
	if err := g.mockOptOuts(); err != nil {
		return nil, err
	}
	steps := []struct {
		name string
		v    any
	}{
		{"clients/clients.json", clients},
		{"keysets/keysets.json", ksJSON},
		{"keyset_keys/keyset_keys.json", keyJSON},
		{"sites/sites.json", sites},
		{"client_side_keypairs/client_side_keypairs.json", keypairs},
		{RuntimeConfig, map[string]any{"version": 1, "runtime_config": map[string]any{
			"identity_token_expires_after_seconds": 3600,
			"refresh_token_expires_after_seconds":  86400,
			"refresh_identity_token_after_seconds": 900,
			"sharing_token_expiry_seconds":         2592000,
			"identity_environment":                 "test",
		}}},
		{CredentialsFile, creds},
	}
	for _, s := range steps {
		if err := g.json(s.name, s.v); err != nil {
			return nil, err
		}
	}
	// Every located part local mode loads has <dir>/metadata.json
	// pointing at <dir>/<dir>.json (the store table gives dir and key).
	for _, p := range store.Parts() {
		if p.Format != store.FormatLocated || p.CoreOnly {
			continue
		}
		loc := path.Join(path.Dir(p.Dataset), path.Base(path.Dir(p.Dataset))+".json")
		if err := g.metadata(p.Dataset, p.MetadataKey, loc); err != nil {
			return nil, err
		}
	}
	return g.files, nil
}

// mockOptOuts writes the opt-out partition of MockOptOutEmails, opted out at
// Generated, with the v2 or v4 raw UID their salt bucket gives (identity
// scope UID2, environment test).
func (g *generator) mockOptOuts() error {
	var md struct {
		FirstLevel string `json:"first_level"`
	}
	if err := json.Unmarshal(g.files[SaltsMetadata], &md); err != nil {
		return err
	}
	buckets := strings.Split(string(g.files[saltsFile]), "\n")
	var recs []optout.Record
	for _, email := range MockOptOutEmails {
		h, ok := identity.EmailHash(email)
		if !ok {
			return fmt.Errorf("mock opt-out %q is not an email", email)
		}
		flh := identity.FirstLevelHash(h, md.FirstLevel)
		cols := strings.Split(buckets[identity.BucketIndex(&flh, SaltBuckets)], ",")
		var uid identity.RawUID
		if cols[2] != "" {
			uid = identity.RawUIDv2(&flh, cols[2])
		} else {
			keyID, err := strconv.Atoi(cols[5])
			if err != nil {
				return err
			}
			if uid, err = identity.RawUIDv4(&flh, int32(keyID), cols[6], cols[7], identity.ScopeUID2, identity.TypeEmail, identity.EnvTest); err != nil {
				return err
			}
		}
		r := optout.Record{FLH: flh, Timestamp: Generated.Unix()}
		r.AdIDLen = uint8(copy(r.AdvertisingID[:], uid.Bytes()))
		recs = append(recs, r)
	}
	slices.SortFunc(recs, func(a, b optout.Record) int { return bytes.Compare(a.FLH[:], b.FLH[:]) })
	var out []byte
	for i := range recs {
		out = optout.AppendRecord(out, &recs[i])
	}
	g.files[OptOutPartition] = out
	return nil
}

// OptOuts returns the records of the dataset's opt-out partition, or none
// when fsys has no such file (a dataset directory written before it existed).
func OptOuts(fsys fs.FS) ([]optout.Record, error) {
	b, err := fs.ReadFile(fsys, OptOutPartition)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	recs, err := optout.ParseFile(nil, b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", OptOutPartition, err)
	}
	return recs, nil
}

// p256Scalar draws a valid P-256 private scalar (non-zero, below the order;
// rejection sampling keeps it uniform).
func (g *generator) p256Scalar() []byte {
	for {
		b := g.bytes(32)
		if _, err := ecdh.P256().NewPrivateKey(b); err == nil {
			return b
		}
	}
}

// saltFiles writes the salts metadata and file. Every eighth bucket carries
// v4 key material instead of a salt; lastUpdated spreads over the 180 days
// before Generated, so about half the buckets have a previous UID.
func (g *generator) saltFiles() error {
	genMs := Generated.UnixMilli()
	type material struct {
		id        int32
		key, salt string
	}
	var materials []material
	for i := range 8 {
		materials = append(materials, material{int32(3_000_000 + i), g.alnum(32), g.alnum(32)})
	}
	var buf bytes.Buffer
	for i := range SaltBuckets {
		lastUpdated := genMs - int64(g.rng.IntN(180))*dayMs - int64(g.rng.IntN(int(dayMs)))
		refreshFrom := genMs + int64(1+g.rng.IntN(30))*dayMs
		id := 1_000_000 + i
		cols := []string{strconv.Itoa(id), strconv.FormatInt(lastUpdated, 10), "", strconv.FormatInt(refreshFrom, 10), "", "", "", "", "", "", ""}
		if i%8 == 7 {
			cur := materials[g.rng.IntN(len(materials))]
			prev := materials[g.rng.IntN(len(materials))]
			cols[5], cols[6], cols[7] = strconv.Itoa(int(cur.id)), cur.key, cur.salt
			cols[8], cols[9], cols[10] = strconv.Itoa(int(prev.id)), prev.key, prev.salt
		} else {
			cols[2] = g.b64(32)
			cols[4] = g.b64(32)
		}
		for j, c := range cols {
			if j > 0 {
				buf.WriteByte(',')
			}
			buf.WriteString(c)
		}
		buf.WriteByte('\n')
	}
	g.files[saltsFile] = buf.Bytes()
	return g.json(SaltsMetadata, map[string]any{
		"version":     1,
		"generated":   Generated.Unix(),
		"first_level": g.b64(32),
		"id_prefix":   "d",
		"id_secret":   g.b64(32),
		"salts": []map[string]any{{
			"effective": genMs - dayMs,
			"location":  saltsFile,
			"size":      SaltBuckets,
		}},
	})
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
