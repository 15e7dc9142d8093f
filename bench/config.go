package bench

import (
	"fmt"
	"strings"

	"github.com/pagerd/pagerd/internal/testcluster"
)

// Keys and token of the generated configs.
const (
	Token       = "bench-admin-token"
	EventsKey   = "bench-events-key"  // Events v2 → service "bench" (no policy)
	WebhookKey  = "bench-webhook-key" // Alertmanager webhooks → service "bench"
	PagingKey   = "bench-paging-key"  // Events v2, routed by payload.source to a paging service
	PagingUsers = 16                  // paging services p0..p15, one user each (two for step 1)
)

// ConfigOptions shape a generated config.
type ConfigOptions struct {
	SMTP          string // channels.email.smtp; empty: no email channel and no paging services
	Schedules     int    // extra schedules (each with its own rotation) for the scale run
	EscalateAfter string // step 0 → step 1 delay of the paging policies (default 3s)
}

// Config builds the bench config: a service without a policy that the ingest
// runs feed (so the numbers are ingest, not paging), and — when an SMTP
// server is given — PagingUsers paging services, each with a policy whose
// step 0 pages user uN by email at once and whose step 1 pages vN, so that
// alert-to-page and overdue-page runs measure single messages per person
// (flood control is lifted for the same reason).
func Config(o ConfigOptions) string {
	if o.EscalateAfter == "" {
		o.EscalateAfter = "3s"
	}
	var b strings.Builder
	// The second token is the cluster harness's (internal/testcluster),
	// which checks readiness and membership with it.
	b.WriteString("timezone: UTC\napi_tokens:\n  - {name: admin, token: \"" + Token + "\"}\n" +
		"  - {name: harness, token: \"" + testcluster.Token + "\"}\nusers:\n")
	users := max(PagingUsers, min(o.Schedules, 300))
	for i := 0; i < users; i++ {
		fmt.Fprintf(&b, "  - {id: u%d, name: User %d, email: u%d@bench.example, notify: [{via: email, after: 0m}]}\n", i, i, i)
		fmt.Fprintf(&b, "  - {id: v%d, name: Second %d, email: v%d@bench.example, notify: [{via: email, after: 0m}]}\n", i, i, i)
	}
	if o.Schedules > 0 {
		b.WriteString("rotations:\n")
		for i := 0; i < o.Schedules; i++ {
			fmt.Fprintf(&b, "  - {id: r%d, participants: [u%d, v%d, u%d], shift: 1w, start: \"2026-11-02 09:00\"}\n",
				i, i%users, i%users, (i+1)%users)
		}
		b.WriteString("schedules:\n")
		for i := 0; i < o.Schedules; i++ {
			fmt.Fprintf(&b, "  - {id: s%d, layers: [r%d]}\n", i, i)
		}
	}
	if o.SMTP != "" {
		b.WriteString("policies:\n")
		for i := 0; i < PagingUsers; i++ {
			fmt.Fprintf(&b, "  - id: pol%d\n    steps:\n      - {notify: [user:u%d], escalate_after: %s}\n      - {notify: [user:v%d], escalate_after: 1h}\n",
				i, i, o.EscalateAfter, i)
		}
	}
	b.WriteString("services:\n  - {id: bench, name: Bench ingest}\n")
	if o.SMTP != "" {
		for i := 0; i < PagingUsers; i++ {
			fmt.Fprintf(&b, "  - {id: p%d, name: Paging %d, policy: pol%d}\n", i, i, i)
		}
	}
	b.WriteString("integrations:\n")
	b.WriteString("  - {name: events, key: \"" + EventsKey + "\", service: bench}\n")
	b.WriteString("  - {name: webhook, key: \"" + WebhookKey + "\", service: bench}\n")
	if o.SMTP != "" {
		b.WriteString("  - name: paging\n    key: \"" + PagingKey + "\"\n    routes:\n")
		for i := 0; i < PagingUsers; i++ {
			fmt.Fprintf(&b, "      - {matchers: ['source=\"p%d\"'], service: p%d}\n", i, i)
		}
		b.WriteString("channels:\n  email:\n    smtp: \"" + o.SMTP + "\"\n    from: \"pagerd@bench.example\"\n    reply_domain: \"pager.bench.example\"\n")
		b.WriteString("  flood_control: {max: 1000, per: 1m}\n")
	}
	b.WriteString("severity:\n  label: severity\n  map: {critical: sev1, error: sev2, warning: sev3}\n  default: sev2\n")
	return b.String()
}
