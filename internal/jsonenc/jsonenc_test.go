package jsonenc

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"
)

var samples = []string{"", "plain", `quote " and \ backslash`, "<script>&amp;</script>", "tab\tnewline\nreturn\rbell\x07\x00\x1f\x7f",
	"\b\f", "caf\u00e9 \u65e5\u672c", "bad \xff utf8 \xc3", "line \u2028 para \u2029", "emoji \U0001F600", "\xed\xa0\x80 surrogate"}

func check(t *testing.T, s string) {
	want, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if got := AppendString([]byte("x"), s); !bytes.Equal(got[1:], want) || got[0] != 'x' {
		t.Fatalf("AppendString(%q) = %s, json.Marshal = %s", s, got, want)
	}
	if IsPlain(s) && string(want) != `"`+s+`"` {
		t.Fatalf("IsPlain(%q) but json.Marshal writes %s", s, want)
	}
}

func TestAppendStringMatchesMarshal(t *testing.T) {
	for _, s := range samples {
		check(t, s)
	}
	for b := 0; b < 256; b++ {
		check(t, string([]byte{byte(b)}))
		check(t, "a"+string([]byte{byte(b)})+"z")
	}
	if !IsPlain("storm-17 abc~") || IsPlain("a<b") || IsPlain("é") {
		t.Fatal("IsPlain disagrees with its definition")
	}
}

func FuzzAppendStringMatchesMarshal(f *testing.F) {
	for _, s := range samples {
		f.Add(s)
	}
	f.Fuzz(check)
}

// jsonenc is a leaf: incident (the bottom of the data flow) may import it
// only because it imports nothing of pagerd (incident/deps_test.go).
func TestImportsOnlyTheStandardLibrary(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range strings.Fields(string(out)) {
		if strings.Contains(p, ".") && p != "github.com/pagerd/pagerd/internal/jsonenc" {
			t.Errorf("jsonenc depends on %s", p)
		}
	}
}

func TestStorableTimeAgreesWithMarshal(t *testing.T) {
	for _, s := range []string{"0000-01-01T00:00:00Z", "0000-01-01T00:00:00+01:00", "0000-01-01T00:00:00-01:00",
		"9999-12-31T23:59:59Z", "9999-12-31T23:59:59-01:00", "9999-12-31T23:59:59+01:00", "2026-11-29T22:00:00+05:30"} {
		ts, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		_, mErr := json.Marshal(ts.UTC())
		if got := StorableTime(ts); got != (mErr == nil) {
			t.Errorf("StorableTime(%s) = %v, json.Marshal of its UTC error = %v", s, got, mErr)
		}
	}
}
