// Package notify holds the outbound channel clients of pagerd: the code that
// turns one notification (a Message) into one SMTP transaction, one Twilio API
// call or one webhook POST, and tells the caller whether a failure is worth
// retrying.
//
// The package deliberately knows nothing about WHEN to send. The escalation
// engine decides that, records each notification in replicated state before
// calling Sender.Send and records the outcome after; see DESIGN.md. What lives
// here is shared by every channel: the Message and Sender contract, error
// classification (IsRetryable, RetryAfter), retry spacing (Backoff) and the
// human text (SMSBody, EmailSubject, EmailBody). One sub-package per channel
// implements Sender: notify/email, notify/sms and notify/webhook.
package notify

import (
	"context"

	"github.com/pagerd/pagerd/config"
	"github.com/pagerd/pagerd/incident"
)

// Message is one notification to one recipient on one channel.
type Message struct {
	// ID is the stable notification id, e.g. "n-42-0-1-alice-email". Channels
	// derive their provider-side identity from it (email Message-ID, webhook
	// delivery id) so that a resend after a leader change is recognisably the
	// same message.
	ID string
	// Incident is the incident being paged. For a summary message it may be
	// nil or the most recent of the bundled incidents.
	Incident *incident.Incident
	// User is the recipient (empty for webhooks, which target no person).
	User config.User
	// Step and Loop locate the page in the escalation policy.
	Step, Loop int
	// ReplyCode is the SMS reply code of this recipient for Incident, e.g.
	// "3"; empty means the SMS carries no reply instructions.
	ReplyCode string
	// ReplyTo is the email Reply-To address carrying the reply token; empty
	// means no Reply-To header and no reply instructions.
	ReplyTo string
	// Summary, when non-empty, makes this a flood-control summary listing the
	// incidents it bundles, one line each.
	Summary []*incident.Incident
	// BridgeURL is the service's incident call link (services[].bridge_url),
	// shown in the page; empty for none.
	BridgeURL string
	// Runbook and ContinuityPlan are the service's links (services[].runbook,
	// continuity_plan), shown in every page; empty for none.
	Runbook, ContinuityPlan string
	// Notice, when set, makes this a plain notice (notice.go) instead of
	// a page: EmailSubject and EmailBody send its text as it is.
	Notice *Notice
	// PublicURL is the active config's public_url; every page, summary and
	// mail links to its incident in the console from it (console.go).
	// Empty: no console link.
	PublicURL string
	// Resolution, when set, makes this the resolution summary of Incident
	// mailed on resolve (spec §5.4) instead of a page.
	Resolution *incident.Summary
	// Bundled lists the ids of the notifications a summary stands for
	// (empty for an ordinary page), so that what was sent can be traced
	// back to every notification it replaced.
	Bundled []string
	// Kind is the notification's kind: "" pages about the incident;
	// incident.KindRolePage asks the recipient to take Role;
	// incident.KindRoleInstructions sends a new holder Instructions;
	// KindUpdateOverdue reminds that a status update is due (overdue.go).
	Kind         string
	Role         string // role id, e.g. "incident_manager"
	RoleName     string // e.g. "Incident Manager"
	RoleReply    string // SMS reply word that takes the role ("im"), or ""
	Instructions string
}

// IsSummary reports whether m is a flood-control summary.
func (m *Message) IsSummary() bool { return m != nil && len(m.Summary) > 0 }

// Receipt is what the provider told us about an accepted message.
type Receipt struct {
	// ProviderID identifies the message at the provider: the Twilio message
	// sid, the email Message-ID, the webhook delivery id.
	ProviderID string
}

// Sender delivers one Message on one channel. Send returns once the provider
// has accepted the message (SMTP 250 after DATA, Twilio 201, webhook 2xx) or
// failed; the error is classified by IsRetryable and RetryAfter. Send is
// idempotent per Message.ID only as far as the channel allows: see DESIGN.md.
// Implementations are safe for concurrent use.
type Sender interface {
	Send(ctx context.Context, m *Message) (Receipt, error)
}
