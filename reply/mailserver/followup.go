package mailserver

import (
	"context"
	"errors"
	"io"

	"github.com/pagerd/pagerd/incident"
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
	switch {
	case err == nil:
	case errors.Is(err, reply.ErrTokenExpired), errors.Is(err, reply.ErrTokenKeyRetired):
		return true, ss.refuse(errExpiredToken, "follow-up reply token expired", "err", err)
	case errors.Is(err, reply.ErrUnknownPage):
		return true, ss.refuse(errUnknownPage, "reply token of an unknown follow-up", "err", err)
	default:
		return true, ss.refuse(errBadToken, "follow-up reply token refused", "err", err)
	}
	ss.token, ss.followup, ss.rcpt = local, &ref, true
	ss.page = reply.Page{Key: ref.ID, Title: ref.Title, User: ref.Owner, To: ref.OwnerEmail}
	return true, nil
}

func (ss *session) dataFollowup(r io.Reader) error {
	s, ref := ss.s, ss.followup
	log := ss.log.With("envelope_from", ss.from, "followup", ref.ID)
	rep, err := reply.ParseEmail(r, ss.from)
	switch {
	case errors.Is(err, reply.ErrTooLarge):
		s.count(OutcomeTooLarge)
		return errTooLarge
	case err != nil:
		s.count(OutcomeMalformed)
		return errMalformed
	case rep.Bounce || rep.AutoReply:
		s.count(OutcomeDropped)
		return nil
	}
	status, note, named, ok := reply.ParseFollowupLine(rep.Line)
	if !ok {
		s.count(OutcomeNoCommand)
		s.confirm(log, ss.page, nil, "Your reply about "+ref.ID+" did nothing: answer `done` or `wont do REASON`.", rep.MessageID, rep.From)
		return nil
	}
	id := ref.ID
	if named != "" {
		id = named
	}
	ctx, cancel := context.WithTimeout(s.ctx, s.opts.ActTimeout)
	defer cancel()
	got, err := s.opts.Followups.CloseFollowup(ctx, reply.FollowupReply{ID: id, From: reply.OrElse(rep.From, ss.from),
		Status: status, Note: note, DedupID: "email:" + rep.MessageID + "/" + ss.token})
	switch {
	case err == nil:
		s.count(OutcomeActed)
		log.Info("follow-up closed by email reply", "status", status)
		s.confirm(log, ss.page, nil, "Closed "+got.ID+" ("+status+"): "+got.Title, rep.MessageID, rep.From)
		return nil
	case errors.Is(err, reply.ErrNotOwner):
		s.count(OutcomeConflict)
		log.Info("follow-up reply refused: not from the owner", "from", rep.From, "err", err)
		s.confirm(log, ss.page, nil, "Refused: "+err.Error()+". Nothing changed.", rep.MessageID, rep.From)
		return nil
	case errors.Is(err, incident.ErrConflict):
		s.count(OutcomeConflict)
		s.confirm(log, ss.page, nil, reply.ConflictText(err), rep.MessageID, rep.From)
		return nil
	case errors.Is(err, incident.ErrNotFound):
		s.count(OutcomeNotFound)
		s.confirm(log, ss.page, nil, "Follow-up "+id+" does not exist.", rep.MessageID, rep.From)
		return nil
	case errors.Is(err, reply.ErrTransient), errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		s.count(OutcomeTransient)
		return errCommit
	}
	s.count(OutcomeError)
	log.Error("follow-up reply failed; answered 451", "err", err)
	return errCommit
}
