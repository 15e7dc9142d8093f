package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/pagerd/pagerd/cluster"
	"github.com/pagerd/pagerd/incident"
	"github.com/pagerd/pagerd/learning"
	"github.com/pagerd/pagerd/notify/email"
	"github.com/pagerd/pagerd/notify/outbox"
	"github.com/pagerd/pagerd/reminders"
)

// startReminders runs the reminders engine on the leader: follow-up and
// postmortem reminders by email, each send recorded in replicated state
// before and after (package reminders).
func startReminders(node *cluster.Node, devBox *outbox.Outbox, log *slog.Logger) {
	read := node.FSM().ReadLearning
	engine := reminders.New(reminders.Options{
		Jobs: []reminders.Job{reminders.FollowupJob{Read: read}, reminders.PostmortemJob{Read: read},
			reminders.ReviewJob{List: reviewsDue(node), Read: read}},
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

// reviewsDue lists the services whose plan has a review due date, with
// their owner and continuity manager (cluster/reviews.go).
func reviewsDue(node *cluster.Node) func(now time.Time) []reminders.ReviewDue {
	return func(now time.Time) []reminders.ReviewDue {
		ac := node.FSM().Config()
		if ac == nil || ac.Config == nil {
			return nil
		}
		var out []reminders.ReviewDue
		for _, st := range node.FSM().ReviewStatuses(now) {
			svc, ok := ac.Config.Service(st.Service)
			if !ok || st.DueAt == nil {
				continue
			}
			out = append(out, reminders.ReviewDue{Service: svc.ID, Name: svc.Name, Owner: svc.Owner,
				Manager: svc.ContinuityManager, DueAt: *st.DueAt, Changed: st.ChangedSinceReview})
		}
		return out
	}
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
	if m.devBox != nil {
		// The outbox keeps reminders without a Reply-To, so they offer no
		// reply, only the CLI, API and console ways.
		subject, body := reminderText(items, replyBinding{}, cfg.PublicURL)
		m.devBox.Keep(u.Email, subject, body, "")
		return nil
	}
	replyTo, bound := m.replyAddress(cfg, items)
	subject, body := reminderText(items, bound, cfg.PublicURL)
	if cfg.Channels.Email.SMTP == "" {
		return errors.New("no email channel configured")
	}
	s, err := email.New(cfg.Channels.Email, email.Options{})
	if err != nil {
		return err
	}
	return s.SendReminder(ctx, u.Email, replyTo, subject, body, reminderMessageID(items))
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
