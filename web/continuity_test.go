package web

import (
	"strings"
	"testing"
)

// The services page shows the continuity catalogue: tier, RTO, runbook.
func TestServicesPageShowsContinuity(t *testing.T) {
	cs := startConsole(t, false)
	c := signIn(t, cs, "read-only-secret-token")
	code, body, _ := get(t, c, cs.url+"/ui/services")
	if code != 200 {
		t.Fatalf("services page: %d", code)
	}
	for _, want := range []string{`<td class="tier">tier2</td>`, `<td>1h</td>`, `<a href="https://wiki.example.com/rb" rel="noopener">runbook</a>`} {
		if !strings.Contains(body, want) {
			t.Errorf("services page lacks %s:\n%s", want, body)
		}
	}
}
