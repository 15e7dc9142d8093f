package mailserver

import (
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"log/slog"

	"github.com/pagerd/pagerd/incident"
	"github.com/pagerd/pagerd/reply"
)

// Shared by the replies to reminders (follow-ups, plan reviews): the token
// refusals at RCPT, reading the message and the answers to a refused or
// failed reply are the same for each kind but for the words.

// reminderKind holds the words that tell one kind of reminder reply from
// another.
type reminderKind struct {
	noun        string // in log lines: "follow-up", "review"
	unknown     string // what an unknown token's subject is: "follow-up", "service"
	notOwnerLog string // logged when the sender may not act
	// conflicts: the kind's backend reports incident.ErrConflict (a close
	// of a closed follow-up), answered with who got there first.
	conflicts bool
}

var (
	followupKind = reminderKind{noun: "follow-up", unknown: "follow-up",
		notOwnerLog: "follow-up reply refused: not from the owner", conflicts: true}
	reviewKind = reminderKind{noun: "review", unknown: "service",
		notOwnerLog: "review reply refused: not from the owner or continuity manager"}
)

// refuseReminderToken refuses at RCPT a reminder token that failed
// verification.
func (ss *session) refuseReminderToken(k reminderKind, err error) error {
	switch {
	case errors.Is(err, reply.ErrTokenExpired), errors.Is(err, reply.ErrTokenKeyRetired):
		return ss.refuse(errExpiredToken, k.noun+" reply token expired", "err", err)
	case errors.Is(err, reply.ErrUnknownPage):
		return ss.refuse(errUnknownPage, "reply token of an unknown "+k.unknown, "err", err)
	}
	return ss.refuse(errBadToken, k.noun+" reply token refused", "err", err)
}

// readReminderReply parses a reminder reply's message. rep is nil when
// there is nothing to act on; err is then the SMTP answer (nil for a
// dropped bounce or auto-reply).
func (ss *session) readReminderReply(r io.Reader) (rep *reply.EmailReply, dedup string, err error) {
	s := ss.s
	h := sha256.New()
	rep, err = reply.ParseEmail(io.TeeReader(r, h), ss.from)
	switch {
	case errors.Is(err, reply.ErrTooLarge):
		s.count(OutcomeTooLarge)
		return nil, "", errTooLarge
	case err != nil:
		s.count(OutcomeMalformed)
		return nil, "", errMalformed
	case rep.Bounce || rep.AutoReply:
		s.count(OutcomeDropped)
		return nil, "", nil
	}
	return rep, dedupID(rep, h, ss.token), nil
}

// answerReminder mails text back to the sender of a reminder reply.
func (ss *session) answerReminder(log *slog.Logger, rep *reply.EmailReply, text string) {
	ss.s.confirm(log, ss.page, nil, text, rep.MessageID, rep.From)
}

// reminderFailed answers a reminder reply its backend did not act on:
// refusals and a gone subject (notFound is the text) are answered by mail
// and accepted; cluster trouble and anything else is a 451 to retry.
func (ss *session) reminderFailed(log *slog.Logger, rep *reply.EmailReply, k reminderKind, err error, notFound string) error {
	s := ss.s
	switch {
	case errors.Is(err, reply.ErrNotOwner):
		s.count(OutcomeConflict)
		log.Info(k.notOwnerLog, "from", rep.From, "err", err)
		ss.answerReminder(log, rep, "Refused: "+err.Error()+". Nothing changed.")
		return nil
	case k.conflicts && errors.Is(err, incident.ErrConflict):
		s.count(OutcomeConflict)
		ss.answerReminder(log, rep, reply.ConflictText(err))
		return nil
	case errors.Is(err, incident.ErrNotFound):
		s.count(OutcomeNotFound)
		ss.answerReminder(log, rep, notFound)
		return nil
	case errors.Is(err, reply.ErrTransient), errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		s.count(OutcomeTransient)
		return errCommit
	}
	s.count(OutcomeError)
	log.Error(k.noun+" reply failed; answered 451", "err", err)
	return errCommit
}
