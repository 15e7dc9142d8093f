package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestConfigSizeBounds is issue 10.10: a million-user config was refused only
// after 15 s and 1.8 GB, with a message about aliases. Size is now bounded up
// front, in bytes and in written YAML nodes, and the message says which.
func TestConfigSizeBounds(t *testing.T) {
	var big strings.Builder
	big.WriteString("users:\n")
	for i := 0; big.Len() <= MaxConfigBytes; i++ {
		fmt.Fprintf(&big, "  - {id: u%d, name: User %d, email: u%d@example.com}\n", i, i, i)
	}
	start := time.Now()
	_, err := parseOne(t, big.String(), nil)
	if took := time.Since(start); took > time.Second {
		t.Errorf("refusing %d bytes took %v", big.Len(), took)
	}
	want := fmt.Sprintf("t.yaml:1:1: config too large: %d bytes in 1 file(s), limit %d bytes (4 MiB)", big.Len(), MaxConfigBytes)
	if err == nil || err.Error() != want {
		t.Errorf("err = %v\nwant %s", err, want)
	}

	many := "users: [" + strings.Repeat("a,", MaxConfigNodes) + "a]\n"
	_, err = parseOne(t, many, nil)
	want = fmt.Sprintf("t.yaml:1:1: config too large: %d YAML nodes, limit %d", MaxConfigNodes+4, MaxConfigNodes)
	if err == nil || err.Error() != want {
		t.Errorf("err = %.300v\nwant %s", err, want)
	}

	// The CLI refuses an oversized file before reading it.
	path := filepath.Join(t.TempDir(), "big.yaml")
	if err := os.WriteFile(path, []byte(big.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadSources(path); err == nil || !strings.Contains(err.Error(), "too large") {
		t.Errorf("ReadSources of %d bytes: %v", big.Len(), err)
	}
}

// A reply domain is ASCII letters, digits and hyphens in dot-separated
// labels. The pattern was case-insensitive, and Go's (?i) folds Unicode:
// the Kelvin sign (K) and the long s (ſ) matched [a-z], so a domain no
// mail system routes passed validation.
func TestPlausibleDomainIsASCII(t *testing.T) {
	for _, s := range []string{"pager.example.com", "Pager.EXAMPLE.com", "a", "x-1.y2"} {
		if !plausibleDomain(s) {
			t.Errorf("%q refused", s)
		}
	}
	for _, s := range []string{"\u212a.example.com", "pager.exa\u017fe.com", "é.com", "-a.com", "a..com", "a.com.", ""} {
		if plausibleDomain(s) {
			t.Errorf("%q accepted", s)
		}
	}
}
