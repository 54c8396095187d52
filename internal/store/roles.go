package store

import "strings"

// Role is a set of client roles (operator-api.md §1.3) held as bits.
type Role uint16

// Client roles used by the operator's public API.
const (
	RoleGenerator Role = 1 << iota
	RoleMapper
	RoleIDReader
	RoleSharer
	RoleOptout
	RoleOperator
	RoleOptoutService
)

var roleNames = []struct {
	role Role
	name string
}{
	{RoleGenerator, "GENERATOR"},
	{RoleMapper, "MAPPER"},
	{RoleIDReader, "ID_READER"},
	{RoleSharer, "SHARER"},
	{RoleOptout, "OPTOUT"},
	{RoleOperator, "OPERATOR"},
	{RoleOptoutService, "OPTOUT_SERVICE"},
}

// ParseRole parses a role name case-insensitively. Unknown names return 0,
// which the reference treats as an ignored UNKNOWN role.
func ParseRole(s string) Role {
	for _, r := range roleNames {
		if strings.EqualFold(r.name, s) {
			return r.role
		}
	}
	return 0
}

// Has reports whether any role of want is in r.
func (r Role) Has(want Role) bool { return r&want != 0 }

// Names returns the upper-case names of the roles in r.
func (r Role) Names() []string {
	var out []string
	for _, n := range roleNames {
		if r&n.role != 0 {
			out = append(out, n.name)
		}
	}
	return out
}
