package notify

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/pagerd/pagerd/config"
	"github.com/pagerd/pagerd/incident"
)

func testIncident() *incident.Incident {
	return &incident.Incident{
		ID: 42, Key: "INC-42", Title: "HighErrorRate", Service: "checkout", Severity: "sev1",
		Status: incident.Triggered, DedupKey: "grp-abc", Source: incident.SourceAlertmanager,
		Integration: "prometheus", CreatedAt: time.Date(2026, 11, 25, 18, 0, 0, 0, time.UTC),
		AlertCount: 3,
		Alerts: []incident.Alert{{
			Fingerprint: "f1", Status: "firing",
			Labels:      map[string]string{"alertname": "HighErrorRate", "severity": "critical", "instance": "web-1"},
			Annotations: map[string]string{"summary": "5xx above 5%", "runbook_url": "https://runbooks.example.com/checkout/errors", "description": "line one\nline two"},
			StartsAt:    time.Date(2026, 11, 25, 17, 58, 0, 0, time.UTC),
		}},
	}
}

func TestSMSBodyExample(t *testing.T) {
	m := &Message{ID: "n-42-0-1-alice-sms", Incident: testIncident(), ReplyCode: "3"}
	got := SMSBody(m)
	want := "INC-42 sev1 checkout: HighErrorRate - 3 alerts. Reply 3a to ack, 3r to resolve, 3e to escalate"
	if got != want {
		t.Fatalf("SMSBody:\n got %q\nwant %q", got, want)
	}
	m.ReplyCode = ""
	if got := SMSBody(m); strings.Contains(got, "Reply") {
		t.Fatalf("no reply code, but body has instructions: %q", got)
	}
}

func TestSMSBodyTruncatesTitleKeepsReply(t *testing.T) {
	cases := []struct {
		name     string
		title    string
		wantEll  string
		maxRunes int
	}{
		{"gsm7", strings.Repeat("disk full on db-primary ", 30), "...", 306},
		{"gsm7-ext", strings.Repeat("{x}", 200), "...", 306},
		{"ucs2", strings.Repeat("Störung 🔥 ", 40), "…", 134},
		{"cyrillic", strings.Repeat("ошибка ", 60), "…", 134},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			inc := testIncident()
			inc.Title = c.title
			body := SMSBody(&Message{Incident: inc, ReplyCode: "17"})
			if n := SMSSegments(body); n > MaxSMSSegments {
				t.Fatalf("%d segments: %q", n, body)
			}
			if !strings.HasPrefix(body, "INC-42 sev1 checkout: ") {
				t.Fatalf("body does not lead with key/severity/service: %q", body)
			}
			if !strings.HasSuffix(body, " - 3 alerts. Reply 17a to ack, 17r to resolve, 17e to escalate") {
				t.Fatalf("reply instructions lost: %q", body)
			}
			if !strings.Contains(body, c.wantEll+" - 3 alerts.") {
				t.Fatalf("want ellipsis %q before the tail: %q", c.wantEll, body)
			}
			if utf8.RuneCountInString(body) > c.maxRunes {
				t.Fatalf("%d runes, limit %d", utf8.RuneCountInString(body), c.maxRunes)
			}
			// Truncation must use the room: one more title rune would not fit.
			if c.name == "gsm7" && len(body) < 300 {
				t.Fatalf("GSM-7 body wasted room (%d chars): %q", len(body), body)
			}
		})
	}
}

func TestSMSBodyHugeReplyCodeStillFits(t *testing.T) {
	body := SMSBody(&Message{Incident: testIncident(), ReplyCode: strings.Repeat("9", 500)})
	if SMSSegments(body) > MaxSMSSegments || !strings.HasPrefix(body, "INC-42") {
		t.Fatalf("body %q (%d segments)", body, SMSSegments(body))
	}
}

func TestSMSBodySanitisesTitle(t *testing.T) {
	inc := testIncident()
	inc.Title = "line1\nline2\r\n\tend\x00\xff"
	body := SMSBody(&Message{Incident: inc})
	if strings.ContainsAny(body, "\n\r\t\x00") || !utf8.ValidString(body) {
		t.Fatalf("control characters or invalid UTF-8 survived: %q", body)
	}
}

func TestSMSBodyNilAndEmpty(t *testing.T) {
	for _, m := range []*Message{nil, {}, {Incident: &incident.Incident{}}, {Summary: []*incident.Incident{nil}}} {
		if b := SMSBody(m); b == "" || SMSSegments(b) > MaxSMSSegments {
			t.Fatalf("SMSBody(%+v) = %q", m, b)
		}
		_ = EmailSubject(m)
		_ = EmailBody(m)
	}
	if got := SMSBody(&Message{Incident: &incident.Incident{ID: 7}}); got != "INC-7 - 0 alerts." {
		t.Fatalf("minimal incident: %q", got)
	}
}

func TestSMSBodySummary(t *testing.T) {
	var incs []*incident.Incident
	for i := 1; i <= 40; i++ {
		incs = append(incs, &incident.Incident{ID: uint64(i), Key: incident.KeyFor(uint64(i)), Severity: "sev2", Service: "db", Title: fmt.Sprintf("Replication lag %d", i)})
	}
	body := SMSBody(&Message{Summary: incs})
	if SMSSegments(body) > MaxSMSSegments {
		t.Fatalf("summary too long: %q", body)
	}
	if !strings.HasPrefix(body, "pagerd: 40 incidents: INC-1 sev2 db: Replication lag 1; INC-2 ") {
		t.Fatalf("summary head: %q", body)
	}
	if !strings.Contains(body, " more") {
		t.Fatalf("summary does not count the incidents left out: %q", body)
	}
	short := SMSBody(&Message{Summary: incs[:2]})
	if short != "pagerd: 2 incidents: INC-1 sev2 db: Replication lag 1; INC-2 sev2 db: Replication lag 2" {
		t.Fatalf("short summary: %q", short)
	}
}

func TestSMSSegments(t *testing.T) {
	cases := []struct {
		name string
		s    string
		want int
	}{
		{"empty", "", 0},
		{"gsm 160", strings.Repeat("a", 160), 1},
		{"gsm 161", strings.Repeat("a", 161), 2},
		{"gsm 306", strings.Repeat("a", 306), 2},
		{"gsm 307", strings.Repeat("a", 307), 3},
		{"gsm basic specials", "@£$¥èéùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ¤¡Ä§¿äöñüà", 1},
		{"ext counts 2: 80 braces = 160 septets", strings.Repeat("{", 80), 1},
		{"ext counts 2: 81 braces = 162 septets", strings.Repeat("{", 81), 2},
		{"euro is ext: 80 = 160 septets", strings.Repeat("€", 80), 1},
		{"euro 152 = 2 full parts", strings.Repeat("€", 152), 2},
		{"euro 153 would split a pair", strings.Repeat("€", 153), 3},
		{"ext pair not split", strings.Repeat("a", 152) + "[" + strings.Repeat("a", 152), 3},
		{"ucs2 70", strings.Repeat("ж", 70), 1},
		{"ucs2 71", strings.Repeat("ж", 71), 2},
		{"ucs2 134", strings.Repeat("ж", 134), 2},
		{"ucs2 135", strings.Repeat("ж", 135), 3},
		{"emoji is 2 units", strings.Repeat("🔥", 35), 1},
		{"emoji 36", strings.Repeat("🔥", 36), 2},
		{"surrogate pair not split", strings.Repeat("a", 66) + "🔥" + strings.Repeat("a", 66), 3},
		{"one emoji makes it ucs2", strings.Repeat("a", 70) + "🔥", 2},
		{"backtick is not gsm", strings.Repeat("a", 100) + "`", 2},
		{"ellipsis is not gsm", strings.Repeat("a", 100) + "…", 2},
	}
	for _, c := range cases {
		if got := SMSSegments(c.s); got != c.want {
			t.Errorf("%s: SMSSegments = %d, want %d", c.name, got, c.want)
		}
	}
}

func FuzzSMSBody(f *testing.F) {
	f.Add("INC-42", "HighErrorRate", "checkout", "sev1", "3", 3)
	f.Add("INC-1", strings.Repeat("🔥", 200), "svc", "sev2", "", 0)
	f.Add("", strings.Repeat("{", 400), "", "", strings.Repeat("x", 400), -1)
	f.Add("\xff\xfe", "a\nb\rc", "é", "ж", "\x00", 1<<30)
	f.Fuzz(func(t *testing.T, key, title, service, severity, code string, alerts int) {
		inc := &incident.Incident{Key: key, Title: title, Service: service, Severity: severity, AlertCount: alerts}
		for _, m := range []*Message{
			{Incident: inc, ReplyCode: code},
			{Summary: []*incident.Incident{inc, inc, nil}, ReplyCode: code},
		} {
			body := SMSBody(m)
			if n := SMSSegments(body); n < 1 || n > MaxSMSSegments {
				t.Fatalf("%d segments: %q", n, body)
			}
			if !utf8.ValidString(body) {
				t.Fatalf("invalid UTF-8: %q", body)
			}
		}
	})
}

func TestEmailSubjectAndBody(t *testing.T) {
	m := &Message{ID: "n-42-0-1-alice-email", Incident: testIncident(), Step: 0, Loop: 1,
		User: config.User{ID: "alice", Email: "alice@example.com"}, ReplyTo: "r+tok@pager.example.com"}
	if got, want := EmailSubject(m), "[INC-42] sev1 checkout: HighErrorRate"; got != want {
		t.Fatalf("subject %q, want %q", got, want)
	}
	body := EmailBody(m)
	for _, want := range []string{
		"INC-42 sev1 checkout: HighErrorRate",
		"Dedup key:  grp-abc",
		"Escalation: step 1, loop 2", // Step 0, Loop 1 counted from 1 as people read them
		"Alerts: 3 alerts",
		"alertname=HighErrorRate",
		"instance=web-1",
		"summary: 5xx above 5%",
		"description: line one\n      line two",
		"Runbook: https://runbooks.example.com/checkout/errors",
		"reply to this email with ack, resolve or escalate",
		"pagerd notification n-42-0-1-alice-email",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("body lacks %q:\n%s", want, body)
		}
	}
	m.ReplyTo = ""
	if strings.Contains(EmailBody(m), "reply to this email") {
		t.Fatal("reply instructions without a Reply-To")
	}
	// "runbook" is the fallback annotation.
	inc := testIncident()
	inc.Alerts[0].Annotations = map[string]string{"runbook": "https://wiki/rb"}
	if !strings.Contains(EmailBody(&Message{Incident: inc}), "Runbook: https://wiki/rb") {
		t.Fatal("runbook annotation not shown")
	}
}

func TestEmailSummary(t *testing.T) {
	a, b := testIncident(), testIncident()
	b.ID, b.Key, b.Title, b.Severity = 43, "INC-43", "DiskFull", "sev2"
	m := &Message{Summary: []*incident.Incident{a, b}}
	if got := EmailSubject(m); got != "[pagerd] 2 incidents: INC-42, INC-43" {
		t.Fatalf("summary subject %q", got)
	}
	body := EmailBody(m)
	for _, line := range []string{"  INC-42 sev1 checkout: HighErrorRate\n", "  INC-43 sev2 checkout: DiskFull\n"} {
		if !strings.Contains(body, line) {
			t.Fatalf("summary body lacks line %q:\n%s", line, body)
		}
	}
}

func TestIsRetryable(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	cases := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"unknown", errors.New("connection reset by peer"), true},
		{"deadline", fmt.Errorf("send: %w", context.DeadlineExceeded), true},
		{"permanent", Permanent(errors.New("bad address")), false},
		{"wrapped permanent", fmt.Errorf("email: %w", Permanent(errors.New("550"))), false},
		{"http 400", NewStatusError("twilio", 400, "", nil, now), false},
		{"http 401", NewStatusError("twilio", 401, "", nil, now), false},
		{"http 404", NewStatusError("x", 404, "", nil, now), false},
		{"http 408", NewStatusError("x", 408, "", nil, now), true},
		{"http 429", NewStatusError("x", 429, "", nil, now), true},
		{"http 500", NewStatusError("x", 500, "", nil, now), true},
		{"http 503 wrapped", fmt.Errorf("sms: %w", NewStatusError("x", 503, "", nil, now)), true},
		{"outer permanent wins", Permanent(NewStatusError("x", 503, "", nil, now)), false},
	}
	for _, c := range cases {
		if got := IsRetryable(c.err); got != c.want {
			t.Errorf("%s: IsRetryable = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 25, 18, 0, 0, 0, time.UTC)
	h := http.Header{}
	h.Set("Retry-After", "7")
	err := fmt.Errorf("sms: %w", NewStatusError("twilio", 429, "Too Many Requests", h, now))
	if d, ok := RetryAfter(err); !ok || d != 7*time.Second {
		t.Fatalf("RetryAfter = %v, %v", d, ok)
	}
	if _, ok := RetryAfter(errors.New("x")); ok {
		t.Fatal("RetryAfter on a plain error")
	}
	for v, want := range map[string]time.Duration{
		"0":                             0,
		"120":                           2 * time.Minute,
		"99999999999":                   MaxRetryAfter,
		"Wed, 25 Nov 2026 18:00:30 GMT": 30 * time.Second,
		"Wed, 25 Nov 2026 17:00:00 GMT": 0,
	} {
		if d, ok := ParseRetryAfter(v, now); !ok || d != want {
			t.Errorf("ParseRetryAfter(%q) = %v, %v; want %v", v, d, ok, want)
		}
	}
	for _, v := range []string{"", "-1", "soon", "1.5"} {
		if _, ok := ParseRetryAfter(v, now); ok {
			t.Errorf("ParseRetryAfter(%q) accepted", v)
		}
	}
}

func TestBackoff(t *testing.T) {
	b := Backoff{Base: time.Second, Max: 10 * time.Second, Factor: 2}
	one := func() float64 { return 0.999999 }
	half := func() float64 { return 0.5 }
	zero := func() float64 { return 0 }
	wantCeil := []time.Duration{1, 2, 4, 8, 10, 10}
	for i, w := range wantCeil {
		if got := b.Ceiling(i); got != w*time.Second {
			t.Errorf("Ceiling(%d) = %v, want %v", i, got, w*time.Second)
		}
		if got := b.Delay(i, half); got != w*time.Second/2 {
			t.Errorf("Delay(%d, 0.5) = %v, want %v", i, got, w*time.Second/2)
		}
		if got := b.Delay(i, zero); got != 0 {
			t.Errorf("Delay(%d, 0) = %v", i, got)
		}
		if got := b.Delay(i, one); got >= w*time.Second || got < w*time.Second*99/100 {
			t.Errorf("Delay(%d, ~1) = %v, want just under %v", i, got, w*time.Second)
		}
	}
	// Huge attempts saturate instead of overflowing; bad rnd is clamped.
	if got := b.Delay(1<<30, func() float64 { return 7 }); got <= 0 || got > 10*time.Second {
		t.Errorf("Delay(huge, 7) = %v", got)
	}
	if got := b.Delay(-3, func() float64 { return -1 }); got != 0 {
		t.Errorf("Delay(-3, -1) = %v", got)
	}
	// Zero value uses documented defaults.
	var d Backoff
	if d.Ceiling(0) != time.Second || d.Ceiling(100) != 2*time.Minute {
		t.Errorf("defaults: %v %v", d.Ceiling(0), d.Ceiling(100))
	}
	if DefaultBackoff.Ceiling(3) != 8*time.Second {
		t.Errorf("DefaultBackoff.Ceiling(3) = %v", DefaultBackoff.Ceiling(3))
	}
	// Next prefers the provider's Retry-After.
	h := http.Header{"Retry-After": {"30"}}
	if got := b.Next(0, NewStatusError("x", 429, "", h, time.Now()), half); got != 30*time.Second {
		t.Errorf("Next with Retry-After = %v", got)
	}
	if got := b.Next(2, errors.New("x"), half); got != 2*time.Second {
		t.Errorf("Next without Retry-After = %v", got)
	}
}
