package identity_test

import (
	"testing"

	"github.com/uid2-private-operator/uid2-operator/internal/identity"
)

func TestKindsStrings(t *testing.T) {
	if got := identity.ScopeUID2.String() + "," + identity.ScopeEUID.String(); got != "uid2,euid" {
		t.Errorf("Scope strings = %q; want uid2,euid", got)
	}
	if got := identity.TypeEmail.String() + "," + identity.TypePhone.String(); got != "email,phone" {
		t.Errorf("Type strings = %q; want email,phone", got)
	}
	for _, tt := range []struct {
		s   string
		env identity.Environment
	}{
		{"test", identity.EnvTest},
		{"integ", identity.EnvInteg},
		{"prod", identity.EnvProd},
	} {
		env, ok := identity.ParseEnvironment(tt.s)
		if !ok || env != tt.env || env.String() != tt.s {
			t.Errorf("ParseEnvironment(%q) = %v, %v; want %v round trip", tt.s, env, ok, tt.env)
		}
	}
	if _, ok := identity.ParseEnvironment("Prod"); ok {
		t.Errorf("ParseEnvironment(%q) ok; want false", "Prod")
	}
}

func TestParseScope(t *testing.T) {
	tests := []struct {
		in     string
		want   identity.Scope
		wantOK bool
	}{
		{"uid2", identity.ScopeUID2, true},
		{"euid", identity.ScopeEUID, true},
		{"EUID", identity.ScopeUID2, false}, // config values are lower case, as the reference's
		{"", identity.ScopeUID2, false},
		{"uid3", identity.ScopeUID2, false},
	}
	for _, tt := range tests {
		got, ok := identity.ParseScope(tt.in)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("ParseScope(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.wantOK)
		}
		if ok && got.String() != tt.in {
			t.Errorf("ParseScope(%q).String() = %q; want the round trip", tt.in, got.String())
		}
	}
}
