package mailserver

import (
	"context"
	"io"
	"time"

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
	if err != nil {
		return true, ss.refuseReminderToken(reviewKind, err)
	}
	ss.token, ss.review, ss.rcpt = local, &ref, true
	ss.page = reply.Page{Key: ref.Service, Title: "continuity plan review of " + ref.Service, User: ref.Owner, To: ref.OwnerEmail}
	return true, nil
}

func (ss *session) dataReview(r io.Reader) error {
	s, ref := ss.s, ss.review
	log := ss.log.With("envelope_from", ss.from, "service", ref.Service)
	rep, dedup, err := ss.readReminderReply(r)
	if rep == nil {
		return err
	}
	note, ok := reply.ParseReviewLine(rep.Line)
	if !ok {
		s.count(OutcomeNoCommand)
		ss.answerReminder(log, rep, "Your reply about the plan of "+ref.Service+" did nothing: answer `reviewed [note]`.")
		return nil
	}
	ctx, cancel := context.WithTimeout(s.ctx, s.opts.ActTimeout)
	defer cancel()
	got, err := s.opts.Reviews.RecordReview(ctx, reply.ReviewReply{Service: ref.Service, From: reply.OrElse(rep.From, ss.from), Note: note,
		DedupID: dedup})
	if err != nil {
		return ss.reminderFailed(log, rep, reviewKind, err, "Service "+ref.Service+" does not exist any more.")
	}
	s.count(OutcomeActed)
	log.Info("plan review recorded by email reply")
	text := "Recorded a review of the continuity plan of " + got.Service + "."
	if got.DueAt != nil {
		text += " Next review due " + got.DueAt.UTC().Format(time.DateOnly) + "."
	}
	ss.answerReminder(log, rep, text)
	return nil
}
