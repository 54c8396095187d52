package mapping

import (
	"errors"

	"github.com/uid2-private-operator/uid2-operator/internal/identity"
	"github.com/uid2-private-operator/uid2-operator/internal/jsonscan"
)

// Request errors of ParseV2 and ParseV3, for api to answer as the reference
// does (operator-api.md §2.5, §2.6).
var (
	// ErrNotJSON: the payload is not one JSON object (§1.4 step 7).
	ErrNotJSON = errors.New("mapping: payload is not a JSON object")
	// ErrInputCount: no input array, or more than one non-empty one (v2);
	// no member at all (v3).
	ErrInputCount = errors.New("mapping: not exactly one input array")
	// ErrNullElement: a v2 input array holds null (the reference's 500).
	ErrNullElement = errors.New("mapping: null element in the input array")
)

// NotArrayError is a v2 input key whose value is not an array.
type NotArrayError struct{ Key string }

func (e *NotArrayError) Error() string { return "mapping: " + e.Key + " is not an array" }

// v2Keys are the v2 input keys in the reference's order; the phone keys
// are read only with phone support.
var v2Keys = [...]identity.InputKind{identity.KindEmail, identity.KindEmailHash, identity.KindPhone, identity.KindPhoneHash}

// ParseV2 reads a /v2/identity/map payload (§2.5): the one input array to
// map, of kind (0 with arr nil when every array given is empty). The
// reference checks the keys in order and answers with the first problem it
// meets; so does ParseV2.
func ParseV2(payload []byte, phone bool) (kind identity.InputKind, arr []byte, err error) {
	var vals [4]jsonscan.Value // by InputKind-1; Vert.x keeps the last duplicate
	if err := jsonscan.Members(payload, func(key []byte, v jsonscan.Value) bool {
		if k, ok := identity.ParseInputKind(bytesString(key)); ok {
			vals[k-1] = v
		}
		return true
	}); err != nil {
		return 0, nil, ErrNotJSON
	}
	seen := false
	for i, k := range v2Keys {
		if i >= 2 && !phone {
			break
		}
		v := vals[k-1]
		switch v.Kind {
		case jsonscan.Invalid, jsonscan.Null:
			continue
		case jsonscan.Array:
		default:
			return 0, nil, &NotArrayError{Key: k.String()}
		}
		seen = true
		if it := jsonscan.Elements(v.Raw); hasNext(&it) {
			if kind != 0 {
				return 0, nil, ErrInputCount
			}
			kind = k
		}
	}
	if !seen {
		return 0, nil, ErrInputCount
	}
	if kind != 0 {
		arr = vals[kind-1].Raw
	}
	for it := jsonscan.Elements(arr); ; {
		v, ok := it.Next()
		if !ok {
			break
		}
		if v.Kind == jsonscan.Null {
			return 0, nil, ErrNullElement
		}
	}
	return kind, arr, nil
}

func hasNext(it *jsonscan.Iter) bool {
	_, ok := it.Next()
	return ok
}

// ParseV3 reads a /v3/identity/map payload (§2.6) strictly, like the
// reference's Jackson record: only the four input keys, each an array or
// null (a later duplicate wins, null clears). Arrays come back by
// InputKind-1 for AppendV3; an unknown member (link_id too) or a non-array
// is ErrIncorrectFormat, an empty object ErrInputCount. It validates the
// whole payload even after a bad member, so a syntax error anywhere wins
// (§1.4 step 7).
func ParseV3(payload []byte) (arrays [4]jsonscan.Value, err error) {
	members, bad := 0, false
	if err := jsonscan.Members(payload, func(key []byte, v jsonscan.Value) bool {
		members++
		k, ok := identity.ParseInputKind(bytesString(key))
		if !ok || (v.Kind != jsonscan.Array && v.Kind != jsonscan.Null) {
			bad = true
			return false
		}
		arrays[k-1] = v
		return true
	}); err != nil {
		return arrays, ErrNotJSON
	}
	switch {
	case members == 0:
		return arrays, ErrInputCount
	case bad:
		return arrays, ErrIncorrectFormat
	}
	return arrays, nil
}

// ValidV3 reports ErrIncorrectFormat unless every array holds only scalars
// that Jackson coerces to strings: the check AppendV3 makes as it goes, for
// callers that must answer a format error before anything else.
func ValidV3(arrays *[4]jsonscan.Value) error {
	for _, v := range arrays {
		if v.Kind != jsonscan.Array {
			continue
		}
		for it := jsonscan.Elements(v.Raw); ; {
			e, ok := it.Next()
			if !ok {
				break
			}
			if e.Kind != jsonscan.String && e.Kind != jsonscan.Number && e.Kind != jsonscan.Bool {
				return ErrIncorrectFormat
			}
		}
	}
	return nil
}
