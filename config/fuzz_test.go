package config

import (
	"os"
	"strings"
	"testing"
	"time"
)

// FuzzParse checks that no input makes the loader panic, that errors always
// carry a position, and that Redacted never echoes a literal secret.
func FuzzParse(f *testing.F) {
	if ex, err := os.ReadFile("../configs/example.yaml"); err == nil {
		f.Add(ex)
	}
	f.Add([]byte(base))
	f.Add([]byte(secretsConfig))
	f.Add([]byte("a: &a [*a, *a]\nusers: [*a, *a]\n"))
	f.Add([]byte("users:\n  - &u {id: a, notify: [{via: sms}]}\n  - *u\ntimezone: ${X}$$\n"))
	f.Add([]byte(officeYAML + "severities:\n  sev2: {page: office}\n"))
	f.Add([]byte("business_hours:\n  - {id: o, times: [{days_of_month: [\"-3:-1\"], months: [\"february\"], years: [\"2027:2028\"]}]}\n"))
	f.Add([]byte(contBase + contServices + "drills:\n  - {id: q, service: checkout, cron: \"*/5 1-3 L * MON#2\"}\nheartbeats:\n  - {id: w, service: db, every: 1m, alertmanager: {integration: prom, matchers: ['a=~\"(\"]}}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		start := time.Now()
		defer func() {
			if el := time.Since(start); el > 5*time.Second {
				t.Fatalf("slow input: %v", el)
			}
		}()
		srcs := []Source{{Name: "f.yaml", Data: data}}
		env := map[string]string{"X": "UTC", "T": "tok"}
		cfg, err := Parse(srcs, LookupMap(env))
		if err == nil && cfg == nil {
			t.Fatal("nil config without error")
		}
		if err != nil {
			es, ok := err.(Errors)
			if !ok || len(es) == 0 {
				t.Fatalf("error %T %v is not a non-empty Errors", err, err)
			}
			for _, e := range es {
				if e.File == "" || e.Line < 1 || e.Col < 1 {
					t.Fatalf("error without position: %#v", e)
				}
			}
		}
		red := Redacted(srcs)
		if cfg != nil {
			for _, tok := range cfg.APITokens {
				// A token written at most once (given elsewhere only by
				// alias, or with escapes) must not show. Text written twice
				// may also be a plain field that shows by right
				// ({name: tok-abc1, token: tok-abc1}).
				once := strings.Count(string(data), tok.Token) <= 1
				if len(tok.Token) >= 6 && once && strings.Contains(red, tok.Token) && !strings.Contains(string(data), "${") {
					t.Fatalf("Redacted leaks token %q:\n%s", tok.Token, red)
				}
			}
		}
		if cfg != nil {
			// A window's next opening is inside it (issue 13.1).
			at := time.Date(2026, 10, 25, 0, 30, 0, 0, time.UTC)
			for i := range cfg.BusinessHours {
				w := &cfg.BusinessHours[i]
				if got, ok := w.NextOpen(at); ok && (got.Before(at) || !w.Contains(got)) {
					t.Fatalf("window %s: NextOpen(%s) = %s, not inside it", w.ID, at, got)
				}
			}
		}
		EnvRefs(srcs)
		Version(srcs, env)
	})
}

// TestAliasBomb checks that a small document whose aliases expand to a
// million nodes is refused quickly instead of being decoded.
func TestAliasBomb(t *testing.T) {
	const k = 100
	rep := func(s string) string { return "[" + strings.TrimSuffix(strings.Repeat(s+",", k), ",") + "]" }
	y := "policies:\n  - &p {id: p, steps: [&s {notify: " + rep("'user:zz'") + ", escalate_after: 1m}]}\n" +
		"  - &q {id: q, steps: " + rep("*s") + "}\n" + strings.Repeat("  - *q\n", k)
	start := time.Now()
	_, err := parseOne(t, y, nil)
	if elapsed := time.Since(start); elapsed > 2*time.Second {
		t.Errorf("took %v", elapsed)
	}
	if err == nil || !strings.Contains(err.Error(), "config too large: aliases expand it beyond") {
		t.Errorf("err = %v", err)
	}
}
