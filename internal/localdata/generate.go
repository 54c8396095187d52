// Package localdata holds the embedded local-mode dataset — clients, keysets,
// keys, salts, sites, a client-side keypair and runtime config, in exactly the
// file formats UID2 Core serves (core-and-optout.md §2.4, §4.3) — and the
// reproducible generator that made it.
//
// The dataset is generated from a fixed seed, so `uid2-operator local generate`
// rewrites byte-identical files. Salt timestamps are re-based to the current
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
	"fmt"
	"math/rand/v2"
	"path"
	"strconv"
	"time"
)

// Generated is the fixed "generated" instant of the dataset. Open shifts salt
// timestamps by whole days from here to the current day.
var Generated = time.Date(2026, time.November, 1, 0, 0, 0, 0, time.UTC)

// Dataset shape.
const (
	// SaltBuckets is the local salt file size; production uses 1,048,576.
	SaltBuckets = 4096
	seed        = "uid2-operator local dataset v1" // changing it changes every credential
	dayMs       = int64(24 * time.Hour / time.Millisecond)
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
	saltsFile        = "salts/salts.txt"
)

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
	All       Credential     `json:"all"`
	Generator Credential     `json:"generator"`
	Mapper    Credential     `json:"mapper"`
	IDReader  Credential     `json:"id_reader"`
	Sharer    Credential     `json:"sharer"`
	Optout    Credential     `json:"optout"`
	CSTG      CSTGCredential `json:"cstg"`
}

// demo sites and the client of each; "all" holds every public-API role but OPTOUT.
var demoClients = []struct {
	name   string
	site   int32
	roles  []string
	domain []string
	apps   []string
}{
	{"all", 1001, []string{"GENERATOR", "MAPPER", "ID_READER", "SHARER"}, []string{"localhost", "demo.example"}, []string{"com.example.demo"}},
	{"generator", 1002, []string{"GENERATOR"}, []string{"localhost", "publisher.example"}, nil},
	{"mapper", 1003, []string{"MAPPER"}, []string{"advertiser.example"}, nil},
	{"id_reader", 1004, []string{"ID_READER"}, []string{"dsp.example"}, nil},
	{"sharer", 1005, []string{"SHARER"}, []string{"sharer.example"}, nil},
	{"optout", 1006, []string{"OPTOUT"}, nil, nil},
}

// Generate builds the dataset from the fixed seed. The result is identical on
// every run; it is what `uid2-operator local generate` writes.
func Generate() (map[string][]byte, error) {
	var s [32]byte
	copy(s[:], seed)
	rng := rand.New(rand.NewChaCha8(s))
	g := generator{rng: rng, files: map[string][]byte{}}
	return g.run()
}

type generator struct {
	rng   *rand.Rand
	files map[string][]byte
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
	credByName := map[string]*Credential{
		"all": &creds.All, "generator": &creds.Generator, "mapper": &creds.Mapper,
		"id_reader": &creds.IDReader, "sharer": &creds.Sharer, "optout": &creds.Optout,
	}

	// Clients: formatted keys (§1.3) stored as salted SHA-512 hashes. The plain
	// key is kept in the file for humans, as Core's mock data does.
	var clients []map[string]any
	var sites []map[string]any
	for _, c := range demoClients {
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
	}

	// Keysets: master, refresh, fallback publisher and one default keyset per
	// demo site. Publisher keysets are readable by every DSP (allowed_sites
	// null); the sharer shares only with the "all" site.
	type keyset struct {
		id, site int32
		name     string
		allowed  []int32
	}
	keysets := []keyset{{-1, -1, "Master", nil}, {-2, -2, "Refresh", nil}, {2, 2, "Fallback publisher", nil}}
	for _, c := range demoClients {
		var allowed []int32
		if c.name == "sharer" {
			allowed = []int32{1001}
		}
		keysets = append(keysets, keyset{c.site, c.site, "Demo " + c.name, allowed})
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
		keyJSON = append(keyJSON, map[string]any{
			"id": int32(i + 1), "keyset_id": ks.id, "created": activates, "activates": activates,
			"expires": expires, "secret": g.b64(32),
		})
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
	for _, m := range []struct{ name, key string }{
		{ClientsMetadata, "client_keys"}, {KeysetsMetadata, "keysets"}, {KeysMetadata, "keyset_keys"},
		{SitesMetadata, "sites"}, {KeypairsMetadata, "client_side_keypairs"},
	} {
		loc := path.Join(path.Dir(m.name), path.Base(path.Dir(m.name))+".json")
		if err := g.metadata(m.name, m.key, loc); err != nil {
			return nil, err
		}
	}
	return g.files, nil
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
