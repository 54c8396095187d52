package store

import (
	"crypto/cipher"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/uid2-private-operator/uid2-operator/internal/envelope"
)

// Client is one API client (core-and-optout.md §2.4 clients). The plain API key
// is never held; only its salted SHA-512 hash.
type Client struct {
	Name      string
	Contact   string
	KeyID     string
	SiteID    int32
	ServiceID int32
	Created   int64
	Roles     Role
	Disabled  bool
	// Secret is the 32-byte AES-256-GCM key of the client's v2 envelope.
	Secret []byte
	// Cipher is Secret's AES-GCM cipher, built once at load.
	Cipher  cipher.AEAD
	keyHash []byte
	keySalt []byte
}

// String identifies the client by key id and site, never by key or secret.
func (c *Client) String() string {
	return fmt.Sprintf("client{key_id=%s site=%d}", c.KeyID, c.SiteID)
}

type clientJSON struct {
	KeyHash   *string  `json:"key_hash"`
	KeySalt   *string  `json:"key_salt"`
	Secret    *string  `json:"secret"`
	Name      string   `json:"name"`
	Contact   string   `json:"contact"`
	Created   int64    `json:"created"`
	Roles     []string `json:"roles"`
	SiteID    int32    `json:"site_id"`
	Disabled  bool     `json:"disabled"`
	ServiceID int32    `json:"service_id"`
	KeyID     string   `json:"key_id"`
}

// ParseClients parses the clients file: a JSON array of client records. The
// plain "key" field that mock data carries for humans is ignored.
func ParseClients(b []byte) ([]Client, error) {
	var raw []clientJSON
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("clients: %w", err)
	}
	out := make([]Client, 0, len(raw))
	for i, r := range raw {
		if r.KeyHash == nil || r.KeySalt == nil || r.Secret == nil {
			return nil, fmt.Errorf("clients[%d]: key_hash, key_salt and secret are required", i)
		}
		hash, err := base64.StdEncoding.DecodeString(*r.KeyHash)
		if err != nil || len(hash) != sha512.Size {
			return nil, fmt.Errorf("clients[%d].key_hash: not base64 of 64 bytes", i)
		}
		salt, err := base64.StdEncoding.DecodeString(*r.KeySalt)
		if err != nil {
			return nil, fmt.Errorf("clients[%d].key_salt: not base64", i)
		}
		secret, err := base64.StdEncoding.DecodeString(*r.Secret)
		if err != nil || len(secret) != 32 {
			return nil, fmt.Errorf("clients[%d].secret: not base64 of 32 bytes", i)
		}
		aead, err := envelope.NewCipher(secret)
		if err != nil {
			return nil, fmt.Errorf("clients[%d].secret: %w", i, err)
		}
		var roles Role
		for _, name := range r.Roles {
			roles |= ParseRole(name)
		}
		out = append(out, Client{
			Name: r.Name, Contact: r.Contact, KeyID: r.KeyID, SiteID: r.SiteID, ServiceID: r.ServiceID,
			Created: r.Created, Roles: roles, Disabled: r.Disabled, Secret: secret, Cipher: aead, keyHash: hash, keySalt: salt,
		})
	}
	return out, nil
}

// HashKey returns b64(SHA-512(salt || key)), the stored form of an API key
// (operator-api.md §1.3, K-1).
func HashKey(key string, salt []byte) string {
	h := sha512.New()
	h.Write(salt)
	h.Write([]byte(key))
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// keySiteRE finds the site id inside formatted keys such as
// UID2-C-L-123-abcdef.<38 chars>; applied with find semantics, like the reference.
var keySiteRE = regexp.MustCompile(`(?:UID2|EUID)-[CO]-[LTIP]-([0-9]+)-.{6}\..{38}`)

// maxCachedKeys bounds the per-snapshot authentication cache, which also
// remembers misses, so random keys cannot grow it without limit.
const maxCachedKeys = 10000

// maxKeyLen bounds the API keys we hash; real keys are under 100 bytes.
const maxKeyLen = 512

// Clients is an immutable index of clients for API-key authentication.
type Clients struct {
	Version int64
	all     []*Client
	bySite  map[int32][]*Client

	cache      sync.Map // string -> *Client (nil for a miss)
	cacheCount atomic.Int64
}

// NewClients indexes clients.
func NewClients(version int64, list []Client) *Clients {
	c := &Clients{Version: version, bySite: make(map[int32][]*Client)}
	for i := range list {
		cl := &list[i]
		c.all = append(c.all, cl)
		c.bySite[cl.SiteID] = append(c.bySite[cl.SiteID], cl)
	}
	return c
}

// Len returns the number of clients.
func (c *Clients) Len() int { return len(c.all) }

// All returns every client; callers must not modify them.
func (c *Clients) All() []*Client { return c.all }

// ByKey finds the client whose key hash matches key, or nil. Disabled clients
// are returned too; the caller decides (refresh treats them as authenticated).
func (c *Clients) ByKey(key string) *Client {
	if key == "" || len(key) > maxKeyLen {
		return nil
	}
	if v, ok := c.cache.Load(key); ok {
		return v.(*Client)
	}
	found := c.lookup(key)
	if c.cacheCount.Load() < maxCachedKeys {
		if _, loaded := c.cache.LoadOrStore(key, found); !loaded {
			c.cacheCount.Add(1)
		}
	}
	return found
}

func (c *Clients) lookup(key string) *Client {
	candidates := c.all
	if m := keySiteRE.FindStringSubmatch(key); m != nil {
		site, err := strconv.ParseInt(m[1], 10, 32)
		if err != nil {
			return nil
		}
		candidates = c.bySite[int32(site)]
	}
	var sum [sha512.Size]byte
	for _, cl := range candidates {
		h := sha512.New()
		h.Write(cl.keySalt)
		h.Write([]byte(key))
		h.Sum(sum[:0])
		if subtle.ConstantTimeCompare(sum[:], cl.keyHash) == 1 {
			return cl
		}
	}
	return nil
}
