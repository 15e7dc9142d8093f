package main

import (
	"fmt"
	"strings"

	"github.com/pagerd/pagerd/config"
	"github.com/pagerd/pagerd/reminders"
	"github.com/pagerd/pagerd/reply"
)

// replyBinding says which reminder a digest's Reply-To token is bound to.
// The zero value means the mail takes no reply: channels.email.reply_domain
// is not set (nothing would route a reply to pagerd), the token could not
// be minted, or the --dev outbox keeps the mail without a Reply-To.
type replyBinding struct {
	Kind string // reminders.KindFollowup or KindReview; "" for no reply
	Ref  string // the follow-up id or service id the token names
}

// replyAddress is the Reply-To of a digest: a token bound to its first
// follow-up or review (a reply `done INC-42-F2` names another of the same
// owner's follow-ups; a review reply records the bound service only).
func (m *reminderMailer) replyAddress(cfg *config.Config, items []reminders.Reminder) (string, replyBinding) {
	domain := cfg.Channels.Email.ReplyDomain
	if domain == "" {
		return "", replyBinding{}
	}
	for _, it := range items {
		var tokenID string
		switch it.Kind {
		case reminders.KindFollowup:
			tokenID = reply.FollowupTokenID(it.Ref)
		case reminders.KindReview, reminders.KindReviewOverdue:
			tokenID = reply.ReviewTokenID(it.Ref)
		default:
			continue
		}
		tok, err := m.node.ReplyKeyring().Mint(tokenID, m.node.Now().Add(reply.TokenLifetime))
		if err != nil {
			return "", replyBinding{}
		}
		kind := it.Kind
		if kind == reminders.KindReviewOverdue {
			kind = reminders.KindReview
		}
		return tok + "@" + domain, replyBinding{Kind: kind, Ref: it.Ref}
	}
	return "", replyBinding{}
}

// reminderText is the digest's subject and body. A reply is offered only
// for what the Reply-To token is bound to; everything else (and everything
// when the mail takes no reply) names the CLI, API and console ways.
// publicURL is the config's public_url ("" for no console links).
func reminderText(items []reminders.Reminder, bound replyBinding, publicURL string) (subject, body string) {
	subject = "pagerd reminder: " + items[0].Line
	if len(items) > 1 {
		subject = fmt.Sprintf("pagerd: %d reminders", len(items))
	}
	var b strings.Builder
	b.WriteString("Reminders from pagerd:\n\n")
	var followups, reviews, postmortems []string
	for _, it := range items {
		fmt.Fprintf(&b, "- %s\n", it.Line)
		switch it.Kind {
		case reminders.KindReview, reminders.KindReviewOverdue:
			reviews = append(reviews, it.Ref)
			continue // the ref is a service, not an incident
		case reminders.KindFollowup:
			followups = append(followups, it.Ref)
		case reminders.KindPostmortem:
			postmortems = append(postmortems, it.Ref)
		}
		if u := config.IncidentURL(publicURL, incidentKeyOf(it.Ref)); u != "" {
			fmt.Fprintf(&b, "  %s\n", u)
		}
	}
	b.WriteString("\n")
	writeFollowupHowTo(&b, followups, bound, publicURL)
	writeReviewHowTo(&b, reviews, bound, publicURL)
	writePostmortemHowTo(&b, postmortems)
	b.WriteString("\n-- \npagerd\n")
	return subject, b.String()
}

// consolePage is public_url + path, or "" without public_url.
func consolePage(publicURL, path string) string {
	if publicURL == "" {
		return ""
	}
	return strings.TrimRight(publicURL, "/") + path
}

func writeFollowupHowTo(b *strings.Builder, ids []string, bound replyBinding, publicURL string) {
	if len(ids) == 0 {
		return
	}
	if bound.Kind == reminders.KindFollowup {
		b.WriteString("Reply `done` when the follow-up is done, or `wont do REASON`.")
		if len(ids) > 1 {
			b.WriteString(" Name one with `done INC-42-F2`; without a name the first is closed.")
		}
		b.WriteString("\n")
		return
	}
	fmt.Fprintf(b, "Close a follow-up with `pagerd followup done %s` (or `wontdo`), PATCH /v1/followups/%s {\"status\":\"done\"}", ids[0], ids[0])
	if u := consolePage(publicURL, "/ui/followups"); u != "" {
		fmt.Fprintf(b, ", or in the console: %s", u)
	}
	b.WriteString(".\n")
}

func writeReviewHowTo(b *strings.Builder, services []string, bound replyBinding, publicURL string) {
	if len(services) == 0 {
		return
	}
	if bound.Kind == reminders.KindReview {
		fmt.Fprintf(b, "Reply `reviewed [note]` to record a review of the plan of %s.", bound.Ref)
		if len(services) > 1 {
			b.WriteString(" Record the others with `pagerd review SERVICE`.")
		}
		b.WriteString("\n")
		return
	}
	fmt.Fprintf(b, "Record a review with `pagerd review %s [--note T]` or POST /v1/services/%s/reviews", services[0], services[0])
	if u := consolePage(publicURL, "/ui/services"); u != "" {
		fmt.Fprintf(b, "; the plan's state is in the console: %s", u)
	}
	b.WriteString(".\n")
}

func writePostmortemHowTo(b *strings.Builder, keys []string) {
	if len(keys) == 0 {
		return
	}
	fmt.Fprintf(b, "Edit a postmortem with `pagerd postmortem %s --edit FILE`, PUT /v1/incidents/%s/postmortem, or on the incident's console page.\n", keys[0], keys[0])
}
