package mapping

import (
	"time"

	"github.com/uid2-private-operator/uid2-operator/internal/jsonw"
	"github.com/uid2-private-operator/uid2-operator/internal/salts"
	"github.com/uid2-private-operator/uid2-operator/internal/store"
)

// lastUpdatedLayout is the reference's yyyy-MM-dd'T'HH:mm:ss.SSS in UTC,
// without a zone designator.
const lastUpdatedLayout = "2006-01-02T15:04:05.000"

// AppendBuckets appends the /v2/identity/buckets body (§2.7): a JSON array
// of the buckets of snap's salts current at nowMs that were updated at or
// after sinceMs, in file order, each {"bucket_id","last_updated"}.
func AppendBuckets(dst []byte, snap *store.Snapshot, nowMs, sinceMs int64) []byte {
	set := snap.Salts
	dst = append(dst, '[')
	first := true
	var id []byte
	sn := set.At(nowMs)
	sn.Table.ModifiedSince(sinceMs, func(i int, e salts.Entry) {
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = append(dst, `{"bucket_id":`...)
		id = set.AppendBucketIDAt(id[:0], sn, i, e.ID)
		dst = jsonw.AppendString(dst, bytesString(id))
		dst = append(dst, `,"last_updated":"`...)
		dst = time.UnixMilli(e.LastUpdated).UTC().AppendFormat(dst, lastUpdatedLayout)
		dst = append(dst, `"}`...)
	})
	return append(dst, ']')
}
