package config

import (
	"strings"
	"testing"
)

func TestPublicURL(t *testing.T) {
	for yaml, want := range map[string]string{
		"public_url: pager.example.com\n":              `t.yaml:14:13: public_url: invalid URL "pager.example.com" (want an absolute http or https URL)`,
		"public_url: https://pager.example.com/?x=1\n": `t.yaml:14:13: public_url: invalid URL "https://pager.example.com/?x=1" (links are built by appending paths: no query or fragment)`,
		"public_url: ftp://pager.example.com\n":        `t.yaml:14:13: public_url: invalid URL "ftp://pager.example.com" (want an absolute http or https URL)`,
	} {
		_, err := parseOne(t, basePol+yaml, nil)
		if got := strings.Join(errLines(t, err), "\n"); got != want {
			t.Errorf("%q:\n got %s\nwant %s", yaml, got, want)
		}
	}
	cfg, err := parseOne(t, basePol+"public_url: https://pager.example.com/ops/\n", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.IncidentURL("INC-42"); got != "https://pager.example.com/ops/ui/incidents/INC-42" {
		t.Fatalf("IncidentURL = %q", got)
	}
	if got := (&Config{}).IncidentURL("INC-42"); got != "" {
		t.Fatalf("IncidentURL without public_url = %q, want empty", got)
	}
}
