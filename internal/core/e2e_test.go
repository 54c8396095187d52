package core_test

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/uid2-private-operator/uid2-operator/internal/api"
	"github.com/uid2-private-operator/uid2-operator/internal/attest"
	"github.com/uid2-private-operator/uid2-operator/internal/client"
	"github.com/uid2-private-operator/uid2-operator/internal/clock"
	"github.com/uid2-private-operator/uid2-operator/internal/core"
	"github.com/uid2-private-operator/uid2-operator/internal/core/standin"
	"github.com/uid2-private-operator/uid2-operator/internal/health"
	"github.com/uid2-private-operator/uid2-operator/internal/identity"
	"github.com/uid2-private-operator/uid2-operator/internal/localdata"
	"github.com/uid2-private-operator/uid2-operator/internal/optout"
	"github.com/uid2-private-operator/uid2-operator/internal/store"
)

// coreFixture is a stand-in Core on 127.0.0.1 serving a dataset directory
// the test may edit.
type coreFixture struct {
	dir     string
	key     string
	standin *standin.Server
	srv     *httptest.Server
}

func newCore(t *testing.T, opt standin.Options) *coreFixture {
	t.Helper()
	fsys, err := localdata.Open(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := copyFS(dir, fsys); err != nil {
		t.Fatal(err)
	}
	key := standin.NewOperatorKey(standin.DefaultSiteID)
	opt.Dataset = os.DirFS(dir)
	opt.Operators = append(opt.Operators, standin.Operator{Key: key, SiteID: standin.DefaultSiteID, Type: "private"})
	s, err := standin.New(opt)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return &coreFixture{dir: dir, key: key, standin: s, srv: srv}
}

func copyFS(dir string, fsys fs.FS) error {
	return fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dir, p), 0o755)
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, p), b, 0o644)
	})
}

func (c *coreFixture) config(encrypted bool) core.Config {
	u := c.srv.URL
	cfg := core.Config{
		AttestURL: u + "/attest", OperatorKey: c.key, OperatorType: "private", Provider: attest.Trusted{},
		AppVersion: "test", InstanceIDPrefix: "e2e",
		Paths:      store.CorePaths(u, store.PartClients, store.PartKeysets, store.PartKeys, store.PartSalts, store.PartRuntime),
		OptoutPath: "/optout/refresh", OptoutFolder: standin.DefaultOptoutFolder, OptoutAPIURI: u + "/optout/replicate",
		HTTP: c.srv.Client(),
	}
	if encrypted {
		cfg.Encrypted = true
		cfg.CloudKeysURL = u + "/cloud_encryption_keys/retrieve"
	}
	return cfg
}

// editJSON rewrites a dataset JSON file through fn.
func (c *coreFixture) editJSON(t *testing.T, name string, v any, fn func()) {
	t.Helper()
	p := filepath.Join(c.dir, name)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
	fn()
	out, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, out, 0o644); err != nil {
		t.Fatal(err)
	}
}

// bump increments the version of a metadata file.
func (c *coreFixture) bump(t *testing.T, name string) {
	t.Helper()
	var doc map[string]any
	c.editJSON(t, name, &doc, func() { doc["version"] = doc["version"].(float64) + 1 })
}

func startOperator(t *testing.T, cfg core.Config) *core.Operator {
	t.Helper()
	cfg.Metrics = core.NewMetrics(prometheus.NewRegistry())
	o, err := core.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := o.Start(ctx); err != nil {
		t.Fatalf("Start: %v", err)
	}
	return o
}

func serveAPI(t *testing.T, o *core.Operator, h api.Health) *httptest.Server {
	t.Helper()
	logouts := &optout.Service{Store: o.OptOuts, Replicator: o.Replicator}
	srv := httptest.NewServer(api.New(api.Options{Scope: identity.ScopeUID2, Store: o.Store, OptOuts: o.OptOuts,
		Logouts: logouts, Health: h, OptoutStatusMaxRequestSize: 5000, AllowClockSkewSeconds: 1800}).Handler())
	t.Cleanup(srv.Close)
	return srv
}

func generate(t *testing.T, base string, cred localdata.Credential, email string) client.Response {
	t.Helper()
	c := &client.Client{BaseURL: base, APIKey: cred.APIKey, Secret: cred.Secret}
	b, err := c.Do(context.Background(), "/v2/token/generate", []byte(`{"email":"`+email+`"}`))
	if err != nil {
		t.Fatalf("generate: %v", err)
	}
	r, err := client.ParseResponse(b)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func creds(t *testing.T) localdata.Credentials {
	t.Helper()
	c, err := localdata.ReadCredentials()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func healthz(t *testing.T, base string) (int, string) {
	t.Helper()
	resp, err := http.Get(base + "/ops/healthcheck")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var sb strings.Builder
	buf := make([]byte, 4096)
	n, _ := resp.Body.Read(buf)
	sb.Write(buf[:n])
	return resp.StatusCode, sb.String()
}

// checker is the Core-mode health checker of o, on clk (the system clock when nil).
func checker(o *core.Operator, clk clock.Clock) *health.Checker {
	return &health.Checker{
		Store: o.Store,
		Attestation: func() health.Attestation {
			return health.Attestation{Refresh: health.Refresh(o.Client.AttestState()), ExpiresAt: o.Client.Token().ExpiresAt}
		},
		Stores: func() map[store.Part]health.Refresh {
			out := map[store.Part]health.Refresh{}
			for p, st := range o.Sync.States() {
				out[p] = health.Refresh(st)
			}
			return out
		},
		OptOut: func() health.Refresh { return health.Refresh(o.OptOutSync.State()) },
		Clock:  clk,
	}
}

func TestEndToEndAttestSyncServe(t *testing.T) {
	c := newCore(t, standin.Options{})
	o := startOperator(t, c.config(false))
	tok := o.Client.Token()
	if !tok.Valid(time.Now()) || tok.OptoutURL != c.srv.URL {
		t.Fatalf("token = %+v; want valid with optout_url %s", tok, c.srv.URL)
	}
	h := checker(o, nil)
	srv := serveAPI(t, o, h)
	if code, body := healthz(t, srv.URL); code != 200 || body != "OK" {
		t.Fatalf("healthcheck = %d %q; want 200 OK", code, body)
	}
	r := generate(t, srv.URL, creds(t).Generator, "user@example.com")
	if r.Status != "success" {
		t.Fatalf("generate status = %q; want success", r.Status)
	}
}

func TestDataChangePickedUpAfterVersionBump(t *testing.T) {
	c := newCore(t, standin.Options{})
	o := startOperator(t, c.config(false))
	ctx := context.Background()

	// New keyset key.
	var keys []map[string]any
	c.editJSON(t, "keyset_keys/keyset_keys.json", &keys, func() {
		k := map[string]any{}
		for n, v := range keys[0] {
			k[n] = v
		}
		k["id"] = 4242
		keys = append(keys, k)
	})
	if err := o.Sync.Refresh(ctx, store.PartKeys); err != nil {
		t.Fatal(err)
	}
	if o.Store.Load().Keyring.Key(4242) != nil {
		t.Fatal("key 4242 loaded before the version bump")
	}
	c.bump(t, localdata.KeysMetadata)
	if err := o.Sync.Refresh(ctx, store.PartKeys); err != nil {
		t.Fatal(err)
	}
	if o.Store.Load().Keyring.Key(4242) == nil {
		t.Fatal("key 4242 not loaded after the version bump")
	}

	// New client: copy the generator with a new key.
	newKey := "UID2-C-L-1002-newcli.abcdefghijklmnopqrstuvwxyz0123456789AB"
	var clients []map[string]any
	c.editJSON(t, "clients/clients.json", &clients, func() {
		for _, cl := range clients {
			if cl["site_id"].(float64) == 1002 {
				n := map[string]any{}
				for k, v := range cl {
					n[k] = v
				}
				salt := []byte("0123456789abcdef0123456789abcdef")
				n["key_salt"] = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
				n["key_hash"] = store.HashKey(newKey, salt)
				n["key_id"] = "UID2-C-L-1002-newcl"
				n["key"] = newKey
				clients = append(clients, n)
				break
			}
		}
	})
	c.bump(t, localdata.ClientsMetadata)
	if err := o.Sync.Refresh(ctx, store.PartClients); err != nil {
		t.Fatal(err)
	}
	if o.Store.Load().Clients.ByKey(newKey) == nil {
		t.Fatal("new client not loaded after the version bump")
	}

	// Salt rotation: change bucket 0's current salt.
	before := o.Store.Load().Salts.At(time.Now().UnixMilli()).Table.Entry(0)
	p := filepath.Join(c.dir, "salts/salts.txt")
	b, _ := os.ReadFile(p)
	lines := strings.SplitN(string(b), "\n", 2)
	cols := strings.Split(lines[0], ",")
	cols[2] = "rotatedsaltrotatedsaltrotatedsaltrotatedsal="
	os.WriteFile(p, []byte(strings.Join(cols, ",")+"\n"+lines[1]), 0o644)
	c.bump(t, localdata.SaltsMetadata)
	if err := o.Sync.Refresh(ctx, store.PartSalts); err != nil {
		t.Fatal(err)
	}
	after := o.Store.Load().Salts.At(time.Now().UnixMilli()).Table.Entry(0)
	if after.CurrentSalt == before.CurrentSalt || after.CurrentSalt != cols[2] {
		t.Fatalf("bucket 0 salt after rotation = %q; want %q", after.CurrentSalt, cols[2])
	}
}

func TestLogoutReplicatesToEveryOperator(t *testing.T) {
	c := newCore(t, standin.Options{})
	o1 := startOperator(t, c.config(false))
	o2 := startOperator(t, c.config(false))
	ctx := context.Background()

	h, _ := identity.EmailHash("leaver@example.com")
	flh := identity.FirstLevelHash(h, o1.Store.Load().Salts.FirstLevel())
	// POST /v2/token/logout on operator 1, as a client with the OPTOUT role.
	api1 := serveAPI(t, o1, nil)
	oc := creds(t).Optout
	cl := &client.Client{BaseURL: api1.URL, APIKey: oc.APIKey, Secret: oc.Secret}
	b, err := cl.Do(ctx, "/v2/token/logout", []byte(`{"email":"leaver@example.com"}`))
	if err != nil {
		t.Fatalf("logout: %v", err)
	}
	if r, _ := client.ParseResponse(b); r.Status != "success" {
		t.Fatalf("logout status = %q; want success", r.Status)
	}
	if !o1.OptOuts.OptedOut(&flh) {
		t.Fatal("logging-out operator does not apply the logout at once")
	}
	if o2.OptOuts.OptedOut(&flh) {
		t.Fatal("second operator opted out before syncing")
	}
	for _, o := range []*core.Operator{o1, o2} {
		if err := o.OptOutSync.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		if !o.OptOuts.OptedOut(&flh) {
			t.Fatal("operator did not pick up the logout from the opt-out delta")
		}
	}
	srv := serveAPI(t, o2, nil)
	if r := generate(t, srv.URL, creds(t).Generator, "leaver@example.com"); r.Status != "optout" {
		t.Fatalf("generate after logout status = %q; want optout", r.Status)
	}
}

func TestCoreDownKeepsServingAndHealthShowsStaleness(t *testing.T) {
	c := newCore(t, standin.Options{})
	o := startOperator(t, c.config(false))
	clk := clock.NewFake(time.Now())
	h := checker(o, clk)
	h.StaleLimit = time.Hour
	srv := serveAPI(t, o, h)
	c.srv.Close()
	for _, p := range o.Sync.Parts() {
		if err := o.Sync.Refresh(context.Background(), p); err == nil {
			t.Fatalf("Refresh(%s) with Core down succeeded", p)
		}
	}
	if err := o.OptOutSync.Sync(context.Background()); err == nil {
		t.Fatal("opt-out sync with Core down succeeded")
	}
	if r := generate(t, srv.URL, creds(t).Generator, "user@example.com"); r.Status != "success" {
		t.Fatalf("generate with Core down = %q; want success from the last snapshot", r.Status)
	}
	if code, _ := healthz(t, srv.URL); code != 200 {
		t.Fatalf("healthcheck right after Core went down = %d; want 200", code)
	}
	// Core down is degraded, not unready: every failure is recorded for /ops/status.
	if d := h.Degraded(); len(d) != len(o.Sync.Parts())+1 || !strings.Contains(strings.Join(d, "\n"), "salt-rotator: 1 failed refreshes") ||
		!strings.Contains(strings.Join(d, "\n"), "optout: 1 failed syncs") {
		t.Fatalf("Degraded() with Core down = %q; want every store and the opt-out sync", d)
	}
	clk.Advance(2 * time.Hour)
	code, body := healthz(t, srv.URL)
	if code != 503 || !strings.Contains(body, "salt-rotator: no successful refresh") {
		t.Fatalf("healthcheck past the stale limit = %d %q; want 503 naming stale stores", code, body)
	}
	var fe *health.FatalError
	if err := h.Check(); !errors.As(err, &fe) {
		t.Fatalf("Check() = %v; want *health.FatalError", err)
	}
}

func TestAttestRejectedIsFatal(t *testing.T) {
	for _, code := range []int{401, 403} {
		c := newCore(t, standin.Options{})
		c.standin.ForTest.SetAttestStatus(code)
		o, err := core.New(c.config(false))
		if err != nil {
			t.Fatal(err)
		}
		err = o.Start(context.Background())
		var ae *core.AttestError
		if !errors.As(err, &ae) || ae.Status != code || !core.IsFatal(err) {
			t.Fatalf("Start with /attest %d = %v; want fatal *AttestError", code, err)
		}
	}
	// A wrong operator key is a 401 too.
	c := newCore(t, standin.Options{})
	cfg := c.config(false)
	cfg.OperatorKey = standin.NewOperatorKey(1)
	o, _ := core.New(cfg)
	if err := o.Start(context.Background()); !core.IsFatal(err) {
		t.Fatalf("Start with an unknown key = %v; want fatal", err)
	}
}

func TestEncryptedFilesRoundTrip(t *testing.T) {
	c := newCore(t, standin.Options{})
	o := startOperator(t, c.config(true))
	if !o.Store.Load().Complete() {
		t.Fatal("encrypted sync left the store incomplete")
	}
	srv := serveAPI(t, o, nil)
	if r := generate(t, srv.URL, creds(t).Generator, "user@example.com"); r.Status != "success" {
		t.Fatalf("generate = %q; want success", r.Status)
	}
}

func TestCorruptFileKeepsPreviousSnapshot(t *testing.T) {
	c := newCore(t, standin.Options{})
	o := startOperator(t, c.config(false))
	ctx := context.Background()
	for _, tc := range []struct {
		part store.Part
		md   string
		file string
	}{
		{store.PartClients, localdata.ClientsMetadata, "clients/clients.json"},
		{store.PartKeys, localdata.KeysMetadata, "keyset_keys/keyset_keys.json"},
		{store.PartSalts, localdata.SaltsMetadata, "salts/salts.txt"},
	} {
		p := filepath.Join(c.dir, tc.file)
		b, _ := os.ReadFile(p)
		os.WriteFile(p, b[:len(b)/2], 0o644) // truncated
		before := o.Store.Load()
		v := o.Sync.Loader.Version(tc.part)
		c.bump(t, tc.md)
		if err := o.Sync.Refresh(ctx, tc.part); err == nil {
			t.Fatalf("Refresh(%s) of a truncated file succeeded", tc.part)
		}
		if o.Store.Load() != before || o.Sync.Loader.Version(tc.part) != v {
			t.Fatalf("Refresh(%s) of a truncated file changed the snapshot", tc.part)
		}
	}
	srv := serveAPI(t, o, nil)
	if r := generate(t, srv.URL, creds(t).Generator, "user@example.com"); r.Status != "success" {
		t.Fatalf("generate = %q; want success", r.Status)
	}
}
