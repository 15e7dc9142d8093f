package mailserver

import (
	"context"
	"io"

	"github.com/pagerd/pagerd/reply"
)

// Replies to follow-up reminders (spec §5.5): `done` or `wont do REASON`
// closes the follow-up as its owner. Anyone else is refused (answered to
// the owner's address, nothing changes); a close of a closed follow-up is
// answered with who closed it, not an SMTP error.

// rcptFollowup accepts a follow-up reminder's token. handled is false
// when the token is not a follow-up's (the caller treats it as a page's).
func (ss *session) rcptFollowup(local string) (handled bool, err error) {
	fb := ss.s.opts.Followups
	if fb == nil {
		return false, nil
	}
	ref, ok, err := fb.FollowupForToken(local, ss.s.now())
	if !ok {
		return false, nil
	}
	if err != nil {
		return true, ss.refuseReminderToken(followupKind, err)
	}
	ss.token, ss.followup, ss.rcpt = local, &ref, true
	ss.page = reply.Page{Key: ref.ID, Title: ref.Title, User: ref.Owner, To: ref.OwnerEmail}
	return true, nil
}

func (ss *session) dataFollowup(r io.Reader) error {
	s, ref := ss.s, ss.followup
	log := ss.log.With("envelope_from", ss.from, "followup", ref.ID)
	rep, dedup, err := ss.readReminderReply(r)
	if rep == nil {
		return err
	}
	status, note, named, ok := reply.ParseFollowupLine(rep.Line)
	if !ok {
		s.count(OutcomeNoCommand)
		ss.answerReminder(log, rep, "Your reply about "+ref.ID+" did nothing: answer `done` or `wont do REASON`.")
		return nil
	}
	id := ref.ID
	if named != "" {
		id = named
	}
	ctx, cancel := context.WithTimeout(s.ctx, s.opts.ActTimeout)
	defer cancel()
	got, err := s.opts.Followups.CloseFollowup(ctx, reply.FollowupReply{ID: id, From: reply.OrElse(rep.From, ss.from),
		Status: status, Note: note, DedupID: dedup})
	if err != nil {
		return ss.reminderFailed(log, rep, followupKind, err, "Follow-up "+id+" does not exist.")
	}
	s.count(OutcomeActed)
	log.Info("follow-up closed by email reply", "status", status)
	ss.answerReminder(log, rep, "Closed "+got.ID+" ("+status+"): "+got.Title)
	return nil
}
