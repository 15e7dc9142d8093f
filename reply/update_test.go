package reply

import "testing"

func TestParseUpdateSMS(t *testing.T) {
	cases := []struct {
		in       string
		code     int
		audience string
		text     string
	}{
		{"3u Rolled back the deploy", 3, "internal", "Rolled back the deploy"},
		{" 12 P Checkout is recovering ", 12, "public", "Checkout is recovering"},
		{"u looking into it", 0, "internal", "looking into it"},
	}
	for _, c := range cases {
		cmd, err := ParseSMS(c.in)
		if err != nil || cmd.Action != ActionUpdate || cmd.Code != c.code || cmd.HasCode != (c.code != 0) || cmd.Audience != c.audience || cmd.Text != c.text {
			t.Fatalf("ParseSMS(%q) = %+v, %v", c.in, cmd, err)
		}
	}
	// Not updates: the old grammar still holds, and an update needs text.
	for in, action := range map[string]string{"3a": ActionAck, "3 resolve": ActionResolve, "3s1": ActionSeverity} {
		if cmd, err := ParseSMS(in); err != nil || cmd.Action != action {
			t.Fatalf("ParseSMS(%q) = %+v, %v", in, cmd, err)
		}
	}
	// "\u0085" and U+00A0 pass the regexp's ASCII \S but are spaces: no text.
	for _, in := range []string{"3u", "3up", "0u text", "3p \u0085", "u \u00a0\u00a0"} {
		if cmd, err := ParseSMS(in); err == nil {
			t.Fatalf("ParseSMS(%q) = %+v, want an error", in, cmd)
		}
	}
}

func TestParseUpdateLine(t *testing.T) {
	for line, want := range map[string][2]string{
		"update: bad deploy identified":     {"internal", "bad deploy identified"},
		"Public:  We are recovering. ":      {"public", "We are recovering."},
		"UPDATE : rolled back, watching it": {"internal", "rolled back, watching it"},
	} {
		aud, text, ok := parseUpdateLine(line)
		if !ok || aud != want[0] || text != want[1] {
			t.Fatalf("parseUpdateLine(%q) = %q %q %v", line, aud, text, ok)
		}
	}
	for _, line := range []string{"update", "updated the runbook", "public:", "ack", "public: \u0085"} {
		if _, _, ok := parseUpdateLine(line); ok {
			t.Fatalf("parseUpdateLine(%q) is an update", line)
		}
	}
}
