package optout_test

import (
	"testing"

	"github.com/uid2-private-operator/uid2-operator/internal/optout"
)

type adIDs map[string]int64

func (m adIDs) AdvertisingIDTimestamp(id string) (int64, bool) {
	ts, ok := m[id]
	return ts, ok
}

func TestAppendStatus(t *testing.T) {
	data := adIDs{"AAA=": 1700000000, "12": 5, "a/b": 7}
	for _, tc := range []struct {
		ids                string
		data               optout.ByAdvertisingID
		want               string
		inputs, optedOutIn int
	}{
		{`[]`, data, `[]`, 0, 0},
		{`["AAA=","BBB=",null,12,"a\/b"]`, data,
			`[{"advertising_id":"AAA=","opted_out_since":1700000000000},{"advertising_id":"12","opted_out_since":5000},` +
				`{"advertising_id":"a/b","opted_out_since":7000}]`, 5, 3},
		{`["AAA="]`, nil, `[]`, 1, 0},
	} {
		got, inputs, opted := optout.AppendStatus([]byte("x"), []byte(tc.ids), tc.data)
		if string(got) != "x"+tc.want || inputs != tc.inputs || opted != tc.optedOutIn {
			t.Errorf("AppendStatus(%s) = %s, %d, %d; want x%s, %d, %d", tc.ids, got, inputs, opted, tc.want, tc.inputs, tc.optedOutIn)
		}
	}
}
