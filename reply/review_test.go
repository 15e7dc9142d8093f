package reply

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParseReviewLine(t *testing.T) {
	for line, want := range map[string]string{
		"reviewed":                    "",
		"Reviewed. all good":          "all good",
		"  REVIEWED: runbook updated": "runbook updated",
	} {
		if note, ok := ParseReviewLine(line); !ok || note != want {
			t.Fatalf("%q: %q %v, want %q", line, note, ok, want)
		}
	}
	for _, line := range []string{"", "done", "not reviewed", "reviewedx"} {
		if _, ok := ParseReviewLine(line); ok {
			t.Fatalf("%q parsed as a review", line)
		}
	}
}

func FuzzParseReviewLine(f *testing.F) {
	for _, s := range []string{"reviewed", "reviewed all good", "done", "", "REVIEWED:\tx"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		note, ok := ParseReviewLine(line)
		if !ok && note != "" {
			t.Fatalf("%q: note %q without ok", line, note)
		}
		if ok && utf8.ValidString(line) && !strings.Contains(strings.ToLower(line), "reviewed") {
			t.Fatalf("%q accepted without the word", line)
		}
	})
}
