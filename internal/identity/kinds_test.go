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
