package envelope_test

import (
	"strings"
	"testing"

	"github.com/uid2-private-operator/uid2-operator/internal/envelope"
	"github.com/uid2-private-operator/uid2-operator/internal/identity"
)

// benchPayload is a typical ~100-byte /v2/token/generate request.
var benchPayload = `{"email_hash":"tMmiiTI7IaAcPpQPFQ65uMVCWH8av9jw4cwf/F5HVRQ=","tcf_consent_string":"` + strings.Repeat("C", 22) + `"}`

func BenchmarkOpen(b *testing.B) {
	sealed := seal(b, testNow.UnixMilli(), benchPayload)
	for _, mode := range []envelope.Mode{envelope.ModeText, envelope.ModeBinary} {
		body := envelope.AppendBody(nil, mode, sealed)
		b.Run(mode.String(), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if _, err := envelope.Open(body, mode, testSecret, testNow, identity.ScopeUID2); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkAppendSeal(b *testing.B) {
	js := []byte(`{"body":{"advertising_token":"` + strings.Repeat("A", 200) + `","refresh_token":"` + strings.Repeat("B", 388) + `"},"status":"success"}`)
	buf := make([]byte, 0, 2048)
	b.ReportAllocs()
	b.SetBytes(int64(len(js)))
	for b.Loop() {
		var err error
		buf, err = envelope.AppendSeal(buf[:0], testSecret, testNonce, js, testNow, nil)
		if err != nil {
			b.Fatal(err)
		}
	}
}
