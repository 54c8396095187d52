package metrics_test

import (
	"testing"

	"github.com/uid2-private-operator/uid2-operator/internal/cstg"
	"github.com/uid2-private-operator/uid2-operator/internal/metrics"
)

func TestCSTGStatus(t *testing.T) {
	for _, tc := range []struct {
		msg  string
		want metrics.TokenStatus
	}{
		{cstg.MsgUnauthorized, metrics.TokenUnauthorized},
		{cstg.MsgBadOrigin, metrics.TokenInvalidHTTPOrigin},
		{cstg.MsgBadAppName, metrics.TokenInvalidAppName},
		{cstg.MsgRequired, metrics.TokenMissingParams},
		{cstg.MsgBadPublicKey, metrics.TokenBadPublicKey},
		{cstg.MsgBadIV, metrics.TokenBadIV},
		{cstg.MsgDecryptFailed, metrics.TokenBadPayload},
		{cstg.MsgExactlyOneNoPhone, metrics.TokenBadPayload},
		{cstg.MsgNotJSON, metrics.TokenUnknown}, // before the site is known: not counted by api
		{"something else", metrics.TokenUnknown},
	} {
		if got := metrics.CSTGStatus(tc.msg); got != tc.want {
			t.Errorf("CSTGStatus(%q) = %d; want %d", tc.msg, got, tc.want)
		}
	}
}
