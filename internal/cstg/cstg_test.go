package cstg_test

import (
	"bytes"
	"crypto/ecdh"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/uid2-private-operator/uid2-operator/internal/cstg"
	"github.com/uid2-private-operator/uid2-operator/internal/store"
)

// K-12 material (operator-api.md §6): the OPT test keypair, the OPR local
// keypair (uid2-operator src/main/resources/com.uid2.core/test/
// client_side_keypairs/client_side_keypairs.json) and the client keypair.
const (
	k12TestServerPrivate = "UID2-Y-L-MEECAQAwEwYHKoZIzj0CAQYIKoZIzj0DAQcEJzAlAgEBBCBop1Dw/IwDcstgicr/3tDoyR3OIpgAWgw8mD6oTO+1ug=="
	k12OPRServerPrivate  = "UID2-Y-L-MEECAQAwEwYHKoZIzj0CAQYIKoZIzj0DAQcEJzAlAgEBBCC5kOSRVD+qhAZqf0L4LGbmAhdy5HpIptwXE72jxhwo6w=="
	k12OPRServerPublic   = "UID2-X-L-MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEtXJdTSZAYHvoRDWiehMHoWF1BNPuqLs5w2ZHiAZ1IJc7O4/z0ojPTB0V+KYX/wxQK0hxx6kxCvHj335eI/ZQsQ=="
	k12ClientPublic      = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE92+xlW2eIrXsDzV4cSfldDKxLXHsMmjLIqpdwOqJ29pWTNnZMaY2ycZHFpxbp6UlQ6vVSpKwImTKr3uikm9yCw=="
	k12ClientPrivate     = "MEECAQAwEwYHKoZIzj0CAQYIKoZIzj0DAQcEJzAlAgEBBCDsqxZicsGytVqN2HZqNDHtV422Lxio8m1vlflq4Jb47Q=="

	k12Plaintext  = `{"email_hash":"lz3+Rj7IV4X1+Vr1ujkG7tstkxwk5pgkqJ6mXbpOgTs="}`
	k12Timestamp  = 1700000000000
	k12IV         = "000102030405060708090a0b"
	k12App        = "com.123.Game.App.android"
	k12Payload    = "p6ZAAizrcfvxqBUpWltBF9kx5VVhjulafEnKJRPoJEm+7UbGgbY06HZj6x0VpqPEV4SS4gdpf39T7BNpUt0kxY8SnZJsArdttyS2W7k="
	k12PayloadApp = "p6ZAAizrcfvxqBUpWltBF9kx5VVhjulafEnKJRPoJEm+7UbGgbY06HZj6x0VpqPEV4SS4gdpf39T7BNpUupnPT08ClJ5K4B7jZJ0+PU="
)

func k12Keypair(t testing.TB, private string) *store.ClientSideKeypair {
	t.Helper()
	kps, err := store.ParseClientSideKeypairs([]byte(`[{"subscription_id":"4WvryDGbR5","public_key":"` + k12OPRServerPublic +
		`","private_key":"` + private + `","site_id":123}]`))
	if err != nil {
		t.Fatal(err)
	}
	return &kps[0]
}

func TestK12SharedSecret(t *testing.T) {
	pub, err := cstg.ParsePublicKey(k12ClientPublic)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, private, want string }{
		{"OPT test keypair", k12TestServerPrivate, "Gq6SeZEoOPZ9Y3QBsILkl9BdtNDeTKHopTLxijhy5AM="},
		{"OPR keypair", k12OPRServerPrivate, "uB89QzhyC2QSZVAlcQqElgYwepmegFl9bRRYQGZ+GYg="},
	} {
		t.Run(tc.name, func(t *testing.T) {
			secret, err := k12Keypair(t, tc.private).Private.ECDH(pub)
			if err != nil {
				t.Fatal(err)
			}
			if got := base64.StdEncoding.EncodeToString(secret); got != tc.want {
				t.Errorf("shared secret = %s; want %s", got, tc.want)
			}
			// The client side derives the same secret.
			der, _ := base64.StdEncoding.DecodeString(k12ClientPrivate)
			k, err := x509.ParsePKCS8PrivateKey(der)
			if err != nil {
				t.Fatal(err)
			}
			cpriv, err := k.(interface {
				ECDH() (*ecdh.PrivateKey, error)
			}).ECDH()
			if err != nil {
				t.Fatal(err)
			}
			spub := k12Keypair(t, tc.private).Private.PublicKey()
			if c, _ := cpriv.ECDH(spub); !bytes.Equal(c, secret) {
				t.Error("client-side secret differs")
			}
		})
	}
}

// TestK12Payload decrypts the spec's payload vectors made with the OPR
// keypair, with and without app_name in the AAD.
func TestK12Payload(t *testing.T) {
	kp := k12Keypair(t, k12OPRServerPrivate)
	iv, _ := hex.DecodeString(k12IV)
	for _, tc := range []struct {
		name, payload, app string
		hasApp             bool
		wantAAD            string
	}{
		{"timestamp only", k12Payload, "", false, "[1700000000000]"},
		{"with app_name", k12PayloadApp, k12App, true, `[1700000000000,"com.123.Game.App.android"]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := cstg.Request{Payload: tc.payload, IV: base64.StdEncoding.EncodeToString(iv), PublicKey: k12ClientPublic,
				Timestamp: k12Timestamp, AppName: tc.app, HasApp: tc.hasApp, HasCrypto: true}
			if got := string(cstg.AppendAAD(nil, &req)); got != tc.wantAAD {
				t.Errorf("AAD = %s; want %s", got, tc.wantAAD)
			}
			_, pt, err := cstg.Open(kp, &req)
			if err != nil {
				t.Fatal(err)
			}
			if string(pt) != k12Plaintext {
				t.Errorf("plaintext = %s", pt)
			}
			// Any change to the AAD fails the tag check.
			req.Timestamp++
			if _, _, err := cstg.Open(kp, &req); !isMessage(err, cstg.MsgDecryptFailed) {
				t.Errorf("wrong timestamp: err = %v", err)
			}
		})
	}
}

func isMessage(err error, msg string) bool {
	var e *cstg.Error
	return errors.As(err, &e) && e.Message == msg
}

// TestCSTGAAD checks the Jackson escaping of app names inside the AAD.
func TestCSTGAAD(t *testing.T) {
	for _, tc := range []struct{ app, want string }{
		{`a"b`, `[5,"a\"b"]`},
		{`a\b`, `[5,"a\\b"]`},
		{"a/b", `[5,"a/b"]`},
		{"é✓", `[5,"é✓"]`},
		{"a\nb\tc\x01", `[5,"a\nb\tc\u0001"]`},
		{"<&>", `[5,"<&>"]`},
	} {
		req := cstg.Request{Timestamp: 5, AppName: tc.app, HasApp: true}
		if got := string(cstg.AppendAAD(nil, &req)); got != tc.want {
			t.Errorf("AAD(%q) = %s; want %s", tc.app, got, tc.want)
		}
	}
	if got := string(cstg.AppendAAD(nil, &cstg.Request{Timestamp: -1})); got != "[-1]" {
		t.Errorf("AAD = %s", got)
	}
}

// TestRegistrableDomain covers the Guava InternetDomainName behaviour the
// reference relies on (OP DomainNameCheckUtil).
func TestRegistrableDomain(t *testing.T) {
	for _, tc := range []struct {
		origin, want string
		ok           bool
	}{
		{"https://www.example.com", "example.com", true},
		{"https://WWW.Example.COM:8443", "example.com", true},
		{"http://example.com", "example.com", true},
		{"https://a.b.example.co.uk", "example.co.uk", true},
		{"https://user.github.io", "user.github.io", true}, // private-section suffix
		{"https://x.user.github.io", "user.github.io", true},
		{"https://github.io", "", false}, // a public suffix itself
		{"https://co.uk", "", false},
		{"http://localhost", "localhost", true},
		{"http://localhost:8080", "localhost", true},
		{"http://app.localhost:3000", "localhost", true},
		{"http://a.b.localhost", "", false},     // Guava: only a direct child of localhost
		{"http://publisher.example", "", false}, // unknown TLD: not under a public suffix
		{"http://127.0.0.1:8080", "", false},
		{"http://[::1]:8080", "", false},
		{"http://1.2.3", "", false},
		{"https://www.example.com.", "example.com", true},
		{"null", "", false},
		{"", "", false},
		{"localhost:8080", "", false},
		{"https://exa mple.com", "", false},
		{"https://-bad.example.com", "", false},
		{"https://a..example.com", "", false},
	} {
		got, ok := cstg.RegistrableDomain(tc.origin)
		if got != tc.want || ok != tc.ok {
			t.Errorf("RegistrableDomain(%q) = %q, %v; want %q, %v", tc.origin, got, ok, tc.want, tc.ok)
		}
	}
}

func FuzzCSTGRequest(f *testing.F) {
	iv := base64.StdEncoding.EncodeToString([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11})
	valid := `{"payload":"` + k12Payload + `","iv":"` + iv + `","public_key":"` + k12ClientPublic +
		`","timestamp":1700000000000,"subscription_id":"4WvryDGbR5"}`
	f.Add([]byte(valid))
	f.Add([]byte(`{"payload":"` + k12PayloadApp + `","iv":"` + iv + `","public_key":"` + k12ClientPublic +
		`","timestamp":"1700000000000","subscription_id":"4WvryDGbR5","app_name":"` + k12App + `"}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(``))
	f.Add([]byte(`{"payload":1,"iv":[],"public_key":{}}`))
	for i := 0; i < len(valid); i += 7 {
		f.Add([]byte(valid[:i]))
		b := []byte(valid)
		b[i] ^= 1
		f.Add(b)
	}
	kp := k12Keypair(f, k12OPRServerPrivate)
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := cstg.ParseRequest(body)
		if err != nil {
			return
		}
		_, pt, err := cstg.Open(kp, &req)
		if err != nil {
			return
		}
		if string(pt) == k12Plaintext {
			if _, _, err := cstg.Input(pt, true); err != nil {
				t.Fatalf("K-12 plaintext rejected: %v", err)
			}
		}
		cstg.Input(pt, false)
	})
}
