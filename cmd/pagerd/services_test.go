package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/pagerd/pagerd/internal/nodetest"
	"github.com/pagerd/pagerd/internal/testcluster"
)

// `pagerd services` shows each service's plan review due date from its
// runtime continuity state (the API's continuity.review_due_at), and "-"
// for a service without review_every.
func TestServicesShowsReviewDue(t *testing.T) {
	t.Setenv("PAGERD_TOKEN", "")
	t.Setenv("PAGERD_SERVER", "")
	cfg := strings.Replace(testcluster.DefaultConfig, "  - {id: checkout, name: Checkout API}",
		"  - {id: checkout, name: Checkout API, owner: alice, review_every: 90d}", 1)
	n := nodetest.Start(t, nodetest.Options{Config: cfg})
	flags := []string{"--server", n.URL, "--token", nodetest.Token}
	code, raw, errOut := cli(t, append([]string{"services", "--output", "json"}, flags...)...)
	var list struct {
		Services []struct {
			ID         string `json:"id"`
			Continuity struct {
				ReviewDueAt *time.Time `json:"review_due_at"`
			} `json:"continuity"`
		} `json:"services"`
	}
	if code != exitOK || json.Unmarshal([]byte(raw), &list) != nil {
		t.Fatalf("services --output json: exit %d %q %q", code, raw, errOut)
	}
	var due string
	for _, s := range list.Services {
		if s.ID == "checkout" && s.Continuity.ReviewDueAt != nil {
			due = s.Continuity.ReviewDueAt.UTC().Format("2006-01-02")
		}
	}
	if due == "" {
		t.Fatalf("API has no review_due_at for checkout: %s", raw)
	}
	code, out, errOut := cli(t, append([]string{"services"}, flags...)...)
	lines := strings.Split(out, "\n")
	if code != exitOK || !strings.Contains(lines[0], "REVIEW DUE") {
		t.Fatalf("services: exit %d\n%s%s", code, out, errOut)
	}
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		switch {
		case len(f) > 0 && f[0] == "checkout" && !strings.Contains(l, " "+due+" "):
			t.Errorf("checkout row lacks its review due date %s: %q", due, l)
		case len(f) > 0 && f[0] == "payments" && strings.Contains(l, due):
			t.Errorf("payments (no review_every) shows a due date: %q", l)
		}
	}
}
