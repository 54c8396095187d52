package standin_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/uid2-private-operator/uid2-operator/internal/attest"
	"github.com/uid2-private-operator/uid2-operator/internal/core/standin"
	"github.com/uid2-private-operator/uid2-operator/internal/localdata"
	"github.com/uid2-private-operator/uid2-operator/internal/optout"
	"github.com/uid2-private-operator/uid2-operator/internal/store"
)

// fixture is a stand-in on 127.0.0.1 with a private and a public operator
// (sites 999 and 7), serving the embedded dataset.
type fixture struct {
	t       *testing.T
	srv     *standin.Server
	url     string
	now     time.Time
	private standin.Operator
	public  standin.Operator
}

func newFixture(t *testing.T, edit func(*standin.Options)) *fixture {
	t.Helper()
	now := time.Date(2026, time.December, 1, 12, 0, 0, 0, time.UTC)
	ds, err := localdata.Open(now)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, now: now,
		private: standin.Operator{Key: standin.NewOperatorKey(standin.DefaultSiteID), SiteID: standin.DefaultSiteID, Type: "private"},
		public:  standin.Operator{Key: standin.NewOperatorKey(7), SiteID: 7, Type: "public"},
	}
	opt := standin.Options{Dataset: ds, Operators: []standin.Operator{f.private, f.public}, NoJitter: true,
		TokenLifetime: time.Hour, Now: func() time.Time { return f.now }}
	if edit != nil {
		edit(&opt)
	}
	f.srv, err = standin.New(opt)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(f.srv.Handler())
	t.Cleanup(hs.Close)
	f.url = hs.URL
	return f
}

// do sends a request and returns the status and body.
func (f *fixture) do(method, p, key string, header map[string]string, body io.Reader) (int, string, http.Header) {
	f.t.Helper()
	req, err := http.NewRequest(method, f.url+p, body)
	if err != nil {
		f.t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		f.t.Fatal(err)
	}
	return resp.StatusCode, string(b), resp.Header
}

// attest runs the trusted /attest exchange for op and returns the token.
func (f *fixture) attest(op standin.Operator) *attest.Token {
	f.t.Helper()
	k, err := attest.NewKey(nil)
	if err != nil {
		f.t.Fatal(err)
	}
	req, err := attest.NewRequest(f.t.Context(), attest.Trusted{}, k, f.url+"/attest", op.Type, "test")
	if err != nil {
		f.t.Fatal(err)
	}
	body, _ := json.Marshal(req)
	code, resp, _ := f.do("POST", "/attest", op.Key, nil, bytes.NewReader(body))
	if code != http.StatusOK {
		f.t.Fatalf("attest: %d %s", code, resp)
	}
	tok, err := attest.ParseResponse([]byte(resp), k)
	if err != nil {
		f.t.Fatal(err)
	}
	return tok
}

func TestNewOperatorKey(t *testing.T) {
	re := regexp.MustCompile(`^UID2-O-L-42-[A-Za-z0-9]{6}\.[A-Za-z0-9]{38}$`)
	a, b := standin.NewOperatorKey(42), standin.NewOperatorKey(42)
	if !re.MatchString(a) || a == b {
		t.Errorf("NewOperatorKey(42) = %q, %q; want two distinct keys matching %s", a, b, re)
	}
}

func TestNewRejectsIncompleteOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		opt  standin.Options
		want string
	}{
		{"no dataset", standin.Options{Operators: []standin.Operator{{Key: "k"}}}, "standin: no dataset"},
		{"no operators", standin.Options{Dataset: fstest.MapFS{}}, "standin: no operator keys"},
	} {
		if _, err := standin.New(tc.opt); err == nil || err.Error() != tc.want {
			t.Errorf("%s: New = %v; want %q", tc.name, err, tc.want)
		}
	}
}

func TestAttest(t *testing.T) {
	f := newFixture(t, nil)
	tok := f.attest(f.private)
	if want := f.now.Add(time.Hour); !tok.ExpiresAt.Equal(want) {
		t.Errorf("ExpiresAt = %v; want %v (lifetime 1 h, no jitter)", tok.ExpiresAt, want)
	}
	if tok.OptoutURL != f.url {
		t.Errorf("OptoutURL = %q; want the stand-in's own origin %q", tok.OptoutURL, f.url)
	}

	for _, tc := range []struct {
		name, key, body string
		code            int
		want            string
	}{
		{"unknown key", standin.NewOperatorKey(1), `{}`, 401, `{"reason":"unrecognized_key","status":"unauthorized"}`},
		{"no key", "", `{}`, 401, `{"reason":"unrecognized_key","status":"unauthorized"}`},
		{"not JSON", f.private.Key, `{`, 400, `{"status":"no attestation_request attached"}`},
		{"no request", f.private.Key, `{"public_key":"AA=="}`, 400, `{"status":"no attestation_request attached"}`},
		{"wrong operator type", f.private.Key, `{"attestation_request":"eA==","public_key":"AA==","operator_type":"public"}`, 403,
			`{"status":"attestation failure; invalid operator type"}`},
		{"bad public key", f.private.Key, `{"attestation_request":"eA==","public_key":"!!"}`, 500, `{"message":"bad public_key","status":"error"}`},
		{"not an RSA key", f.private.Key, `{"attestation_request":"eA==","public_key":"AAAA"}`, 500, `{"message":"bad public_key","status":"error"}`},
	} {
		code, body, hdr := f.do("POST", "/attest", tc.key, nil, strings.NewReader(tc.body))
		if code != tc.code || strings.TrimSpace(body) != tc.want || hdr.Get("Content-Type") != "application/json" {
			t.Errorf("%s: %d %s (%s); want %d %s", tc.name, code, body, hdr.Get("Content-Type"), tc.code, tc.want)
		}
	}
}

func TestAttestAzureCCWithoutVerifier(t *testing.T) {
	f := newFixture(t, func(o *standin.Options) { o.Operators[0].Protocol = standin.ProtocolAzureCC })
	k, _ := attest.NewKey(nil)
	body := `{"attestation_request":"eA==","public_key":"` + base64.StdEncoding.EncodeToString(k.PublicKeyDER()) + `"}`
	code, resp, _ := f.do("POST", "/attest", f.private.Key, nil, strings.NewReader(body))
	if code != 403 || strings.TrimSpace(resp) != `{"status":"protocol not found"}` {
		t.Errorf("azure-cc without AzureCC = %d %s; want 403 protocol not found", code, resp)
	}
	code, resp, _ = f.do("POST", "/attest", f.private.Key, nil, strings.NewReader(`{"attestation_request":"!","public_key":"AA=="}`))
	if code != 403 || strings.TrimSpace(resp) != `{"status":"BAD_FORMAT"}` {
		t.Errorf("azure-cc with undecodable evidence = %d %s; want 403 BAD_FORMAT", code, resp)
	}
}

func TestForTestAttestStatus(t *testing.T) {
	f := newFixture(t, nil)
	f.srv.ForTest.SetAttestStatus(http.StatusBadGateway)
	code, body, _ := f.do("POST", "/attest", f.private.Key, nil, strings.NewReader(`{}`))
	if code != http.StatusBadGateway || strings.TrimSpace(body) != `{"status":"forced by the stand-in"}` {
		t.Errorf("forced attest = %d %s", code, body)
	}
	// The key is still checked first, and 0 restores the real answers.
	if code, _, _ := f.do("POST", "/attest", "nope", nil, strings.NewReader(`{}`)); code != 401 {
		t.Errorf("forced attest with a bad key = %d; want 401", code)
	}
	f.srv.ForTest.SetAttestStatus(0)
	f.attest(f.private)
}

func TestRefreshNeedsAValidToken(t *testing.T) {
	f := newFixture(t, nil)
	tok := f.attest(f.private)
	other := f.attest(f.public)
	for _, tc := range []struct {
		name, key, token string
		code             int
		want             string
	}{
		{"valid", f.private.Key, tok.Value, 200, ""},
		{"no key", "", tok.Value, 401, `{"reason":"unrecognized_key","status":"unauthorized"}`},
		{"no token", f.private.Key, "", 401, `{"reason":"insufficient_role","status":"unauthorized"}`},
		{"another operator's token", f.private.Key, other.Value, 401, `{"reason":"insufficient_role","status":"unauthorized"}`},
		{"forged token", f.private.Key, base64.StdEncoding.EncodeToString(make([]byte, 40)) + "-s", 401, `{"reason":"insufficient_role","status":"unauthorized"}`},
		{"no suffix", f.private.Key, strings.TrimSuffix(tok.Value, "-s"), 401, `{"reason":"insufficient_role","status":"unauthorized"}`},
	} {
		code, body, _ := f.do("GET", "/clients/refresh", tc.key, map[string]string{"Attestation-Token": tc.token}, nil)
		if code != tc.code || (tc.want != "" && strings.TrimSpace(body) != tc.want) {
			t.Errorf("%s: %d %s; want %d %s", tc.name, code, body, tc.code, tc.want)
		}
	}
	f.now = f.now.Add(time.Hour) // the token expires
	if code, _, _ := f.do("GET", "/clients/refresh", f.private.Key, map[string]string{"Attestation-Token": tok.Value}, nil); code != 401 {
		t.Errorf("expired token: %d; want 401", code)
	}
}

func TestSkipTokenCheck(t *testing.T) {
	f := newFixture(t, func(o *standin.Options) { o.SkipTokenCheck = true })
	if code, body, _ := f.do("GET", "/clients/refresh", f.private.Key, nil, nil); code != 200 {
		t.Errorf("SkipTokenCheck: %d %s; want 200", code, body)
	}
}

// TestStoreMetadata walks every route the store table gives the stand-in:
// each metadata document points back at the stand-in, and following the
// locations yields the dataset's files, plain or encrypted.
func TestStoreMetadata(t *testing.T) {
	f := newFixture(t, nil)
	tok := f.attest(f.public)
	plain := map[string]string{"Attestation-Token": tok.Value}
	enc := map[string]string{"Attestation-Token": tok.Value, "Encrypted": "true"}
	cloud, err := store.NewCloudKeys(f.srv.ForTest.CloudKeys())
	if err != nil {
		t.Fatal(err)
	}
	ds, _ := localdata.Open(f.now)
	for _, p := range store.Parts() {
		if p.CoreOnly { // the embedded dataset has no services
			code, _, _ := f.do("GET", p.CorePath, f.public.Key, plain, nil)
			if code != 500 {
				t.Errorf("%s: %d; want 500 for a part the dataset lacks", p.Part, code)
			}
			continue
		}
		code, body, _ := f.do("GET", p.CorePath, f.public.Key, plain, nil)
		if code != 200 {
			t.Errorf("%s: %d %s", p.Part, code, body)
			continue
		}
		var locs []string
		switch p.Format {
		case store.FormatLocated:
			md, err := store.ParseMetadata([]byte(body), p.MetadataKey)
			if err != nil {
				t.Fatalf("%s: %v", p.Part, err)
			}
			locs = append(locs, md.Location)
		case store.FormatSalts:
			var md struct{ Salts []struct{ Location string } }
			json.Unmarshal([]byte(body), &md)
			for _, s := range md.Salts {
				locs = append(locs, s.Location)
			}
		case store.FormatInline:
			if _, err := store.ParseRuntimeConfig([]byte(body)); err != nil {
				t.Errorf("%s: %v", p.Part, err)
			}
			continue
		}
		if len(locs) == 0 {
			t.Fatalf("%s: no locations in %s", p.Part, body)
		}
		for _, loc := range locs {
			rel, ok := strings.CutPrefix(loc, f.url+"/files/")
			if !ok {
				t.Fatalf("%s: location %q is not a stand-in file URL", p.Part, loc)
			}
			want, err := fs.ReadFile(ds, rel)
			if err != nil {
				t.Fatal(err)
			}
			if code, got, _ := f.do("GET", "/files/"+rel, "", nil, nil); code != 200 || got != string(want) {
				t.Errorf("%s: GET %s = %d (%d bytes); want the dataset file", p.Part, rel, code, len(got))
			}
		}
		// Encrypted: the location names the site's key, and the file
		// decrypts to the same bytes.
		_, body, _ = f.do("GET", p.CorePath, f.public.Key, enc, nil)
		if !strings.Contains(body, "/efiles/") {
			t.Fatalf("%s: encrypted metadata %s has no /efiles/ location", p.Part, body)
		}
		loc := regexp.MustCompile(`/efiles/[^"]+`).FindString(body)
		code, sealed, _ := f.do("GET", loc, "", nil, nil)
		if code != 200 {
			t.Fatalf("%s: GET %s = %d", p.Part, loc, code)
		}
		opened, err := cloud.Decrypt([]byte(sealed))
		if err != nil {
			t.Fatalf("%s: decrypt: %v", p.Part, err)
		}
		rel := strings.SplitN(strings.TrimPrefix(loc, "/efiles/"), "/", 2)[1]
		want, _ := fs.ReadFile(ds, rel)
		if !bytes.Equal(opened, want) {
			t.Errorf("%s: decrypted %s differs from the dataset file", p.Part, rel)
		}
	}
}

func TestPublicOnlyParts(t *testing.T) {
	f := newFixture(t, nil)
	tok := f.attest(f.private)
	for _, p := range store.Parts() {
		code, body, _ := f.do("GET", p.CorePath, f.private.Key, map[string]string{"Attestation-Token": tok.Value}, nil)
		if p.PublicOnly {
			want := `{"message":"endpoint ` + p.CorePath + ` is for public operators only","status":"error"}`
			if code != 403 || strings.TrimSpace(body) != want {
				t.Errorf("%s for a private operator: %d %s; want 403 %s", p.Part, code, body, want)
			}
		} else if !p.CoreOnly && code != 200 { // the dataset has no Core-only parts
			t.Errorf("%s for a private operator: %d %s; want 200", p.Part, code, body)
		}
	}
}

func TestCloudKeys(t *testing.T) {
	f := newFixture(t, nil)
	tok := f.attest(f.private)
	code, body, _ := f.do("GET", "/cloud_encryption_keys/retrieve", f.private.Key, map[string]string{"Attestation-Token": tok.Value}, nil)
	if code != 200 {
		t.Fatalf("%d %s", code, body)
	}
	keys, err := store.ParseCloudEncryptionKeys([]byte(body))
	if err != nil || len(keys) != 1 || keys[0].SiteID != standin.DefaultSiteID {
		t.Fatalf("keys = %+v, %v; want the one key of site %d", keys, err, standin.DefaultSiteID)
	}

	// No keys at all: encrypted requests fail with Core's message.
	g := newFixture(t, func(o *standin.Options) { o.CloudKeys = []store.CloudEncryptionKey{} })
	tok = g.attest(g.private)
	hdr := map[string]string{"Attestation-Token": tok.Value}
	if code, body, _ := g.do("GET", "/cloud_encryption_keys/retrieve", g.private.Key, hdr, nil); code != 500 ||
		strings.TrimSpace(body) != `{"message":"no cloud encryption keys for the site","status":"error"}` {
		t.Errorf("no keys: %d %s", code, body)
	}
	hdr["Encrypted"] = "true"
	if code, body, _ := g.do("GET", "/clients/refresh", g.private.Key, hdr, nil); code != 500 ||
		strings.TrimSpace(body) != `{"message":"no cloud encryption key for site 999","status":"error"}` {
		t.Errorf("encrypted without keys: %d %s", code, body)
	}
}

func TestFilesNotFound(t *testing.T) {
	f := newFixture(t, nil)
	for _, p := range []string{"/files/nope.json", "/files/%2e%2e/credentials.json", "/files/x/%2e%2e/%2e%2e/credentials.json", "/efiles/1/nope.json",
		"/efiles/x/clients/clients.json", "/efiles/12345/clients/clients.json", "/optout/files/nope.dat"} {
		code, body, hdr := f.do("GET", p, "", nil, nil)
		if code != 404 || body != "not found\n" || !strings.HasPrefix(hdr.Get("Content-Type"), "text/plain") {
			t.Errorf("GET %s = %d %q; want 404 not found", p, code, body)
		}
	}
}

func TestHealthcheck(t *testing.T) {
	f := newFixture(t, nil)
	if code, body, _ := f.do("GET", "/ops/healthcheck", "", nil, nil); code != 200 || body != "OK" {
		t.Errorf("healthcheck = %d %q", code, body)
	}
}

// listing is the opt-out listing document.
type listing struct {
	Version int64 `json:"version"`
	Logs    []struct {
		Type     string `json:"type"`
		From     int64  `json:"from"`
		To       int64  `json:"to"`
		Location string `json:"location"`
	} `json:"optout_logs"`
}

func (f *fixture) listing(tok string) listing {
	f.t.Helper()
	code, body, _ := f.do("GET", "/optout/refresh", f.private.Key, map[string]string{"Attestation-Token": tok}, nil)
	if code != 200 {
		f.t.Fatalf("listing: %d %s", code, body)
	}
	var l listing
	if err := json.Unmarshal([]byte(body), &l); err != nil {
		f.t.Fatal(err)
	}
	return l
}

// records downloads a listed file and returns its records (sentinels skipped).
func (f *fixture) records(loc string) []optout.Record {
	f.t.Helper()
	code, body, _ := f.do("GET", strings.TrimPrefix(loc, f.url), "", nil, nil)
	if code != 200 {
		f.t.Fatalf("GET %s: %d", loc, code)
	}
	recs, err := optout.ParseFile(nil, []byte(body))
	if err != nil {
		f.t.Fatal(err)
	}
	return recs
}

func TestReplicate(t *testing.T) {
	f := newFixture(t, nil)
	tok := f.attest(f.private).Value
	if l := f.listing(tok); len(l.Logs) != 0 || l.Version != f.now.Unix() {
		t.Fatalf("empty listing = %+v; want no files, version now", l)
	}
	flh := bytes.Repeat([]byte{7}, 32)
	ad := bytes.Repeat([]byte{9}, 33)
	b64 := base64.StdEncoding.EncodeToString
	q := url.Values{"identity_hash": {b64(flh)}, "advertising_id": {b64(ad)}}
	code, body, _ := f.do("POST", "/optout/replicate?"+q.Encode(), f.private.Key, nil, nil)
	if code != 200 || body != strconv.FormatInt(f.now.Unix(), 10) {
		t.Fatalf("replicate = %d %q; want 200 and the timestamp", code, body)
	}
	f.now = f.now.Add(time.Minute)
	l := f.listing(tok)
	if len(l.Logs) != 1 || l.Logs[0].Type != "delta" || l.Logs[0].To != f.now.Unix() || l.Version != f.now.Unix() {
		t.Fatalf("listing = %+v; want one delta up to now", l)
	}
	name, err := optout.ParseFileName(path.Base(l.Logs[0].Location))
	if err != nil || name.Kind != optout.Delta || !strings.Contains(l.Logs[0].Location, "/optout/files/optout/delta/2026-12-01/") {
		t.Errorf("delta name %q: %+v, %v", l.Logs[0].Location, name, err)
	}
	recs := f.records(l.Logs[0].Location)
	if len(recs) != 1 || !bytes.Equal(recs[0].FLH[:], flh) || recs[0].AdIDLen != 33 || recs[0].Timestamp != f.now.Add(-time.Minute).Unix() {
		t.Errorf("delta records = %+v", recs)
	}
	// Nothing new: no new file.
	if l := f.listing(tok); len(l.Logs) != 1 {
		t.Errorf("second listing has %d files; want 1", len(l.Logs))
	}

	for _, tc := range []struct {
		name, query, key string
		code             int
		want             string
	}{
		{"no key", q.Encode(), "", 401, `{"reason":"unrecognized_key","status":"unauthorized"}`},
		{"missing advertising_id", "identity_hash=" + url.QueryEscape(b64(flh)), f.private.Key, 400,
			`{"message":"identity_hash and advertising_id are required","status":"client_error"}`},
		{"short hash", url.Values{"identity_hash": {b64(flh[:31])}, "advertising_id": {b64(ad)}}.Encode(), f.private.Key, 400,
			`{"message":"bad identity_hash or advertising_id","status":"client_error"}`},
		{"zero hash", url.Values{"identity_hash": {b64(make([]byte, 32))}, "advertising_id": {b64(ad)}}.Encode(), f.private.Key, 400,
			`{"message":"reserved identity_hash","status":"client_error"}`},
		{"all-ones hash", url.Values{"identity_hash": {b64(bytes.Repeat([]byte{0xFF}, 32))}, "advertising_id": {b64(ad)}}.Encode(), f.private.Key, 400,
			`{"message":"reserved identity_hash","status":"client_error"}`},
	} {
		code, body, _ := f.do("POST", "/optout/replicate?"+tc.query, tc.key, nil, nil)
		if code != tc.code || strings.TrimSpace(body) != tc.want {
			t.Errorf("%s: %d %s; want %d %s", tc.name, code, body, tc.code, tc.want)
		}
	}
}

func TestPartitionAndForTestFiles(t *testing.T) {
	f := newFixture(t, func(o *standin.Options) { o.OptoutFolder = "uid-optout-integ/" })
	tok := f.attest(f.private).Value
	rec := func(b byte) optout.Record { return optout.Record{FLH: [32]byte{b}, AdIDLen: 32, Timestamp: 5} }
	at := f.now.Add(-time.Hour)
	f.srv.AddPartition(at, rec(3), rec(1), rec(2))
	f.srv.ForTest.AddDelta(at.Add(time.Minute), rec(4))
	f.srv.ForTest.AddOptOuts(rec(5))
	l := f.listing(tok)
	if len(l.Logs) != 3 {
		t.Fatalf("listing = %+v; want partition, delta, rotated delta", l)
	}
	wantType := []string{"partition", "delta", "delta"}
	wantFLH := [][]byte{{1, 2, 3}, {4}, {5}}
	for i, lg := range l.Logs {
		if lg.Type != wantType[i] || !strings.Contains(lg.Location, "/uid-optout-integ/") {
			t.Errorf("file %d: %+v; want a %s in the folder", i, lg, wantType[i])
		}
		var got []byte
		for _, r := range f.records(lg.Location) {
			got = append(got, r.FLH[0])
		}
		if !bytes.Equal(got, wantFLH[i]) {
			t.Errorf("file %d holds %v; want %v (partitions sorted by hash)", i, got, wantFLH[i])
		}
	}
	// The rotated delta starts where the last file ended.
	if l.Logs[2].From != l.Logs[1].To || l.Logs[2].To != f.now.Unix() {
		t.Errorf("rotated delta covers %d–%d; want %d–%d", l.Logs[2].From, l.Logs[2].To, l.Logs[1].To, f.now.Unix())
	}
}
