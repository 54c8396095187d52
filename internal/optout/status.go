package optout

import (
	"strconv"
	"unsafe"

	"github.com/uid2-private-operator/uid2-operator/internal/jsonscan"
	"github.com/uid2-private-operator/uid2-operator/internal/jsonw"
)

// ByAdvertisingID answers opt-out lookups by raw UID (operator-api.md
// §2.8). *Store satisfies it.
type ByAdvertisingID interface {
	// AdvertisingIDTimestamp returns the opt-out time (epoch seconds) of an
	// advertising id given exactly as standard base64.
	AdvertisingIDTimestamp(b64 string) (int64, bool)
}

// AppendStatus appends the "opted_out" list of /v2/optout/status (§2.8):
// for each element of the JSON array ids found in data (nil: none), in
// order, {"advertising_id":…,"opted_out_since":<epoch ms>}. Strings are
// looked up by their content, other values by their JSON text, as the
// reference's getString reads them; null matches nothing. It returns the
// number of elements and of those opted out.
func AppendStatus(dst, ids []byte, data ByAdvertisingID) (out []byte, inputs, optedOut int) {
	dst = append(dst, '[')
	first := true
	var scratch []byte
	for it := jsonscan.Elements(ids); ; {
		v, ok := it.Next()
		if !ok {
			break
		}
		inputs++
		if v.Kind == jsonscan.Null || data == nil {
			continue
		}
		id := v.Raw
		if v.Kind == jsonscan.String {
			id = v.Content(scratch[:0])
		}
		text := unsafe.String(unsafe.SliceData(id), len(id)) // not retained
		ts, found := data.AdvertisingIDTimestamp(text)
		if !found {
			continue
		}
		optedOut++
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = append(dst, `{"advertising_id":`...)
		dst = jsonw.AppendString(dst, text)
		dst = append(dst, `,"opted_out_since":`...)
		dst = strconv.AppendInt(dst, ts*1000, 10)
		dst = append(dst, '}')
	}
	return append(dst, ']'), inputs, optedOut
}
