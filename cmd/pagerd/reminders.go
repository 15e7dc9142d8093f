package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/pagerd/pagerd/cluster"
	"github.com/pagerd/pagerd/config"
	"github.com/pagerd/pagerd/incident"
	"github.com/pagerd/pagerd/learning"
	"github.com/pagerd/pagerd/notify/email"
	"github.com/pagerd/pagerd/notify/outbox"
	"github.com/pagerd/pagerd/reminders"
	"github.com/pagerd/pagerd/reply"
)

// startReminders runs the reminders engine on the leader: follow-up and
// postmortem reminders by email, each send recorded in replicated state
// before and after (package reminders).
func startReminders(node *cluster.Node, devBox *outbox.Outbox, log *slog.Logger) {
	read := node.FSM().ReadLearning
	engine := reminders.New(reminders.Options{
		Jobs:   []reminders.Job{reminders.FollowupJob{Read: read}, reminders.PostmortemJob{Read: read}},
		Store:  reminderStore{node: node},
		Sender: &reminderMailer{node: node, devBox: devBox},
		Logger: log.With("component", "reminders"),
	})
	node.FSM().Watch(func(c cluster.Change) {
		if c.Learning || c.All || len(c.Incidents) > 0 {
			engine.Wake()
		}
	})
	node.OnLeader(engine.Run)
}

// reminderStore records reminder sends through Raft.
type reminderStore struct{ node *cluster.Node }

func (s reminderStore) Queue(ctx context.Context, to string, items []reminders.Reminder) error {
	q := &learning.ReminderQueue{To: to}
	for _, it := range items {
		q.Items = append(q.Items, learning.ReminderRecord{ID: it.ID, Kind: it.Kind, Ref: it.Ref})
	}
	err := s.node.QueueReminders(ctx, q)
	if errors.Is(err, incident.ErrConflict) {
		return fmt.Errorf("%w: %w", reminders.ErrRecorded, err)
	}
	return err
}

func (s reminderStore) Outcome(ctx context.Context, ids []string, sendErr error) error {
	o := &learning.ReminderOutcome{IDs: ids, Status: learning.ReminderSent}
	if sendErr != nil {
		o.Status, o.Error = learning.ReminderFailed, sendErr.Error()
	}
	return s.node.ReminderOutcome(ctx, o)
}

// reminderMailer mails one person's due reminders as one digest.
type reminderMailer struct {
	node   *cluster.Node
	devBox *outbox.Outbox
}

func (m *reminderMailer) Send(ctx context.Context, to string, items []reminders.Reminder) error {
	ac := m.node.FSM().Config()
	if ac == nil {
		return errors.New("no config committed")
	}
	cfg := ac.Config
	u, ok := cfg.User(to)
	if !ok || u.Email == "" {
		return fmt.Errorf("user %q has no email address", to)
	}
	replyTo := m.replyAddress(cfg, items)
	subject, body := reminderText(items, replyTo != "", cfg.IncidentURL)
	if m.devBox != nil {
		m.devBox.Keep(u.Email, subject, body, "")
		return nil
	}
	if cfg.Channels.Email.SMTP == "" {
		return errors.New("no email channel configured")
	}
	s, err := email.New(cfg.Channels.Email, email.Options{})
	if err != nil {
		return err
	}
	return s.SendReminder(ctx, u.Email, replyTo, subject, body, reminderMessageID(items))
}

// replyAddress is the Reply-To of a digest: a token bound to its first
// follow-up (a reply `done INC-42-F2` names another of the same owner's).
func (m *reminderMailer) replyAddress(cfg *config.Config, items []reminders.Reminder) string {
	domain := cfg.Channels.Email.ReplyDomain
	if domain == "" {
		return ""
	}
	for _, it := range items {
		if it.Kind != reminders.KindFollowup {
			continue
		}
		tok, err := m.node.ReplyKeyring().Mint(reply.FollowupTokenID(it.Ref), m.node.Now().Add(reply.TokenLifetime))
		if err != nil {
			return ""
		}
		return tok + "@" + domain
	}
	return ""
}

// reminderText is the digest's subject and body; link gives an incident's
// console URL ("" without public_url).
func reminderText(items []reminders.Reminder, canReply bool, link func(key string) string) (subject, body string) {
	subject = "pagerd reminder: " + items[0].Line
	if len(items) > 1 {
		subject = fmt.Sprintf("pagerd: %d reminders", len(items))
	}
	var b strings.Builder
	b.WriteString("Reminders from pagerd:\n\n")
	followups := 0
	for _, it := range items {
		fmt.Fprintf(&b, "- %s\n", it.Line)
		if u := link(incidentKeyOf(it.Ref)); u != "" {
			fmt.Fprintf(&b, "  %s\n", u)
		}
		if it.Kind == reminders.KindFollowup {
			followups++
		}
	}
	if canReply && followups > 0 {
		b.WriteString("\nReply `done` when the follow-up is done, or `wont do REASON`.")
		if followups > 1 {
			b.WriteString(" Name one with `done INC-42-F2`; without a name the first is closed.")
		}
		b.WriteString("\n")
	}
	b.WriteString("\n-- \npagerd\n")
	return subject, b.String()
}

func reminderMessageID(items []reminders.Reminder) string {
	h := sha256.New()
	for _, it := range items {
		h.Write([]byte(it.ID + "\x00"))
	}
	return "rem-" + hex.EncodeToString(h.Sum(nil)[:12])
}

// incidentKeyOf is the incident key of a reminder's ref ("INC-42-F1" →
// "INC-42"; "INC-42" stays).
func incidentKeyOf(ref string) string {
	if i := strings.LastIndex(ref, "-F"); i > 0 {
		return ref[:i]
	}
	return ref
}
