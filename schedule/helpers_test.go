package schedule

import (
	"testing"
	"time"

	"github.com/pagerd/pagerd/config"
)

// mustCompile compiles cfg or fails the test.
func mustCompile(t testing.TB, cfg *config.Config) *Set {
	t.Helper()
	s, err := Compile(cfg)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return s
}

// utc parses an RFC 3339 instant or fails the test.
func utc(t testing.TB, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatalf("bad instant %q: %v", s, err)
	}
	return v
}

func dur(t testing.TB, s string) config.Duration {
	t.Helper()
	d, err := config.ParseDuration(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// onCallCase is one OnCall expectation.
type onCallCase struct {
	at   string
	want []string
	why  string
}

func checkOnCall(t *testing.T, s *Set, id string, cases []onCallCase) {
	t.Helper()
	for _, c := range cases {
		got, err := s.OnCall(id, utc(t, c.at))
		if err != nil {
			t.Errorf("%s at %s: %v", id, c.at, err)
			continue
		}
		if !equalStrings(got, c.want) {
			t.Errorf("%s at %s: got %v want %v (%s)", id, c.at, got, c.want, c.why)
		}
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// shiftsString renders shifts compactly for comparisons and failure messages.
func shiftsString(sh []Shift) []string {
	var out []string
	for _, s := range sh {
		out = append(out, s.User+" "+s.Start.Format(time.RFC3339)+" "+s.End.Format(time.RFC3339))
	}
	return out
}
