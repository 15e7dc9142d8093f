package mailserver

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/pagerd/pagerd/incident"
	"github.com/pagerd/pagerd/reply"
)

// Replies to plan review reminders (spec §5.5): `reviewed [note]` records
// a review of the service's continuity plan as its owner or continuity
// manager; anyone else is refused and nothing changes.

// rcptReview accepts a review reminder's token. handled is false when the
// token is not a review's.
func (ss *session) rcptReview(local string) (handled bool, err error) {
	rb := ss.s.opts.Reviews
	if rb == nil {
		return false, nil
	}
	ref, ok, err := rb.ReviewForToken(local, ss.s.now())
	if !ok {
		return false, nil
	}
	switch {
	case err == nil:
	case errors.Is(err, reply.ErrTokenExpired), errors.Is(err, reply.ErrTokenKeyRetired):
		return true, ss.refuse(errExpiredToken, "review reply token expired", "err", err)
	case errors.Is(err, reply.ErrUnknownPage):
		return true, ss.refuse(errUnknownPage, "reply token of an unknown service", "err", err)
	default:
		return true, ss.refuse(errBadToken, "review reply token refused", "err", err)
	}
	ss.token, ss.review, ss.rcpt = local, &ref, true
	ss.page = reply.Page{Key: ref.Service, Title: "continuity plan review of " + ref.Service, User: ref.Owner, To: ref.OwnerEmail}
	return true, nil
}

func (ss *session) dataReview(r io.Reader) error {
	s, ref := ss.s, ss.review
	log := ss.log.With("envelope_from", ss.from, "service", ref.Service)
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
	note, ok := reply.ParseReviewLine(rep.Line)
	if !ok {
		s.count(OutcomeNoCommand)
		s.confirm(log, ss.page, nil, "Your reply about the plan of "+ref.Service+" did nothing: answer `reviewed [note]`.", rep.MessageID, rep.From)
		return nil
	}
	ctx, cancel := context.WithTimeout(s.ctx, s.opts.ActTimeout)
	defer cancel()
	dedup := "" // without a Message-ID two replies cannot be told from one retried
	if rep.MessageID != "" {
		dedup = "email:" + rep.MessageID + "/" + ss.token
	}
	got, err := s.opts.Reviews.RecordReview(ctx, reply.ReviewReply{Service: ref.Service, From: reply.OrElse(rep.From, ss.from), Note: note,
		DedupID: dedup})
	switch {
	case err == nil:
		s.count(OutcomeActed)
		log.Info("plan review recorded by email reply")
		text := "Recorded a review of the continuity plan of " + got.Service + "."
		if got.DueAt != nil {
			text += " Next review due " + got.DueAt.UTC().Format(time.DateOnly) + "."
		}
		s.confirm(log, ss.page, nil, text, rep.MessageID, rep.From)
		return nil
	case errors.Is(err, reply.ErrNotOwner):
		s.count(OutcomeConflict)
		log.Info("review reply refused: not from the owner or continuity manager", "from", rep.From, "err", err)
		s.confirm(log, ss.page, nil, "Refused: "+err.Error()+". Nothing changed.", rep.MessageID, rep.From)
		return nil
	case errors.Is(err, incident.ErrNotFound):
		s.count(OutcomeNotFound)
		s.confirm(log, ss.page, nil, "Service "+ref.Service+" does not exist any more.", rep.MessageID, rep.From)
		return nil
	case errors.Is(err, reply.ErrTransient), errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		s.count(OutcomeTransient)
		return errCommit
	}
	s.count(OutcomeError)
	log.Error("review reply failed; answered 451", "err", err)
	return errCommit
}
