package bench

import (
	"bytes"
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"github.com/pagerd/pagerd/internal/jsonenc"
)

// The append encoders must send the servers exactly what the encoders
// they replace sent, or the bench would measure a different request.
func TestAppendEncodersMatch(t *testing.T) {
	at := time.Date(2026, 11, 29, 19, 40, 1, 123456789, time.FixedZone("X", 3600))
	cases := []struct {
		run, service string
		g            int64
		n            int
		at           time.Time
	}{
		{"storm-abc123", "storm", 1, 1, time.Now()},
		{"run", "bench", 987654321, 10, at},
		{"", "", 0, 1, at.Truncate(time.Second)},
		{`q"u\o<t>e&`, "s\u2028v\u2029c\x00\x1f\x7f\b\f\n\r\t", -5, 3, at.Add(500 * time.Millisecond)},
		{"bad\xffutf8\xe2\x80", "日本語", 42, 2, time.Unix(0, 1)},
	}
	for _, c := range cases {
		checkAppendEncoders(t, c.run, c.service, c.g, c.n, c.at)
	}
}

func checkAppendEncoders(t *testing.T, run, service string, g int64, n int, at time.Time) {
	t.Helper()
	if got, want := AppendEventTrigger([]byte("junk"), run, service, g, "src"+run)[4:],
		EventTrigger(run, service+"-"+strconv.FormatInt(g, 10), "src"+run); !bytes.Equal(got, want) {
		t.Errorf("AppendEventTrigger(%q, %q, %d):\n got %s\nwant %s", run, service, g, got, want)
	}
	if got, want := AppendPostableAlerts(nil, run, g, n, service, at), PostableAlerts(Alerts(run, g, n, service, at)); !bytes.Equal(got, want) {
		t.Errorf("AppendPostableAlerts(%q, %d, %d, %q):\n got %s\nwant %s", run, g, n, service, got, want)
	}
	if n >= 1 {
		if got, want := AppendWebhook(nil, run, g, n, service, at), Webhook(Alerts(run, g, n, service, at)); !bytes.Equal(got, want) {
			t.Errorf("AppendWebhook(%q, %d, %d, %q):\n got %s\nwant %s", run, g, n, service, got, want)
		}
	}
}

func TestAppendJSONStringMatchesMarshal(t *testing.T) {
	for _, s := range []string{"", "plain", "<>&\"\\", "\x00\x01\x1f\x7f", "\u2028\u2029", "\xff\xfe", "é\xc3", "a\u00e9\U0001F600z"} {
		want, _ := json.Marshal(s)
		if got := jsonenc.AppendString(nil, s); !bytes.Equal(got, want) {
			t.Errorf("appendJSONString(%q) = %s, want %s", s, got, want)
		}
	}
}

func FuzzAppendEncodersMatch(f *testing.F) {
	f.Add("storm-x", "storm", int64(7), uint8(1), int64(1764445200123456789))
	f.Add("<&>", "\u2028\xff", int64(-1), uint8(10), int64(0))
	f.Fuzz(func(t *testing.T, run, service string, g int64, n uint8, nanos int64) {
		at := time.Unix(0, nanos) // years 1677–2262: inside MarshalJSON's range
		checkAppendEncoders(t, run, service, g, int(n%12), at)
	})
}

func BenchmarkAppendEventTrigger(b *testing.B) {
	var buf []byte
	b.ReportAllocs()
	for i := range b.N {
		buf = AppendEventTrigger(buf[:0], StormKey, "storm-abc", int64(i), "storm")
	}
}
