package ratelog_test

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/uid2-private-operator/uid2-operator/internal/ratelog"
)

func TestLog(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		}}))
	var l ratelog.Log
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, at := range []time.Duration{0, time.Second, 30 * time.Second, ratelog.Interval, ratelog.Interval + time.Second, 3 * ratelog.Interval} {
		l.Warn(log, t0.Add(at), "busy", "path", "/x")
	}
	want := []string{
		`level=WARN msg=busy path=/x count=1`, // the first event is written at once
		`level=WARN msg=busy path=/x count=3`, // at one interval: the 3 events since
		`level=WARN msg=busy path=/x count=2`,
	}
	if got := strings.Split(strings.TrimSpace(buf.String()), "\n"); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("lines =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
