// Package identity turns emails, phones and their hashes into UID2 identities:
// normalization and validation (operator-api.md §2.14), first-level hashes,
// bucket indexes and raw UIDs v2/v3/v4 (§3).
package identity

// Scope is the identity scope of an operator: UID2 or EUID (§3.4).
type Scope uint8

// Identity scopes; the values are the wire bits.
const (
	ScopeUID2 Scope = 0
	ScopeEUID Scope = 1
)

// String returns "uid2" or "euid".
func (s Scope) String() string {
	if s == ScopeEUID {
		return "euid"
	}
	return "uid2"
}

// ParseScope returns the scope named by the identity_scope config value,
// "uid2" or "euid" (the names String returns), and whether s names one.
func ParseScope(s string) (Scope, bool) {
	switch s {
	case "uid2":
		return ScopeUID2, true
	case "euid":
		return ScopeEUID, true
	}
	return ScopeUID2, false
}

// Type is the kind of directly identifying information behind an identity.
type Type uint8

// Identity types; the values are the wire bits.
const (
	TypeEmail Type = 0
	TypePhone Type = 1
)

// String returns "email" or "phone".
func (t Type) String() string {
	if t == TypePhone {
		return "phone"
	}
	return "email"
}

// Environment is the runtime-config identity_environment encoded in v4 raw UIDs.
type Environment uint8

// Identity environments; the values are the wire bits.
const (
	EnvTest  Environment = 0
	EnvInteg Environment = 1
	EnvProd  Environment = 2
)

// ParseEnvironment parses "test", "integ" or "prod".
func ParseEnvironment(s string) (Environment, bool) {
	switch s {
	case "test":
		return EnvTest, true
	case "integ":
		return EnvInteg, true
	case "prod":
		return EnvProd, true
	}
	return 0, false
}

// String returns "test", "integ" or "prod".
func (e Environment) String() string {
	switch e {
	case EnvInteg:
		return "integ"
	case EnvProd:
		return "prod"
	}
	return "test"
}
