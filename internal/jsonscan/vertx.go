package jsonscan

import (
	"bytes"
	"encoding/json"
)

// The functions below read the small request objects of generate, validate,
// logout and CSTG the way the reference's Vert.x JsonObject does, on top of
// encoding/json: exact (case-sensitive) keys, the last duplicate wins,
// null counts as absent, and getString gives other scalars as their text.

// DecodeObject decodes a JSON object into its raw members. A nil payload
// yields a nil map; ok is false when payload is not a JSON object.
func DecodeObject(payload []byte) (fields map[string]json.RawMessage, ok bool) {
	if payload == nil {
		return nil, true
	}
	if err := json.Unmarshal(payload, &fields); err != nil {
		return nil, false
	}
	return fields, true
}

// Present reports whether a member is set to a non-null value.
func Present(raw json.RawMessage) bool {
	return raw != nil && !bytes.Equal(bytes.TrimSpace(raw), []byte("null"))
}

// StringValue reads a member as Vert.x 4's getString does: a string as
// itself, any other value as its JSON text.
func StringValue(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s
		}
	}
	return string(raw)
}
