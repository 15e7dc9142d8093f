package cluster

import (
	"context"
	"fmt"
	"sort"
	"time"
	"unicode/utf8"

	"github.com/pagerd/pagerd/config"
	"github.com/pagerd/pagerd/incident"
)

// Plan reviews (spec §5.3, §5.4; issue 16 item 2): who reviewed a service's
// continuity plan, when, and against which config version. A plan is due
// for review `review_every` after its last review, or after the service
// first appeared in a committed config (recorded in the config's apply, at
// the leader's stamped time, so every replica agrees).

// reviewsKept bounds the history kept per service.
const reviewsKept = 50

// maxReviewNote bounds a review's note.
const maxReviewNote = 4000

// ReviewCommand records that a service's plan was reviewed.
type ReviewCommand struct {
	Service string `json:"service"`
	By      string `json:"by"`
	Note    string `json:"note,omitempty"`
	// Via is how it came: api | cli | email.
	Via string `json:"via,omitempty"`
	// DedupID names an email reply (message id and token): a mail server
	// retrying the same reply records nothing new.
	DedupID string `json:"dedup_id,omitempty"`
}

// Review is one recorded review.
type Review struct {
	Service       string    `json:"service"`
	By            string    `json:"by"`
	Note          string    `json:"note,omitempty"`
	Via           string    `json:"via,omitempty"`
	DedupID       string    `json:"dedup_id,omitempty"`
	At            time.Time `json:"at"`
	ConfigVersion string    `json:"config_version"`
	// Plan is the reviewed plan's fields (rto, rpo, runbook,
	// continuity_plan) as written then: a config changing one of them
	// later makes the service changed_since_review.
	Plan string `json:"plan"`
}

// reviewState is the replicated review state (in snapshots as "reviews").
type reviewState struct {
	FirstSeen map[string]time.Time `json:"first_seen,omitempty"`
	Reviews   map[string][]Review  `json:"reviews,omitempty"`
}

func init() {
	registry[TypeReview] = spec("review", 1, func(f *FSM, now time.Time, c *ReviewCommand) Result {
		r, err := f.applyReview(now, c)
		return Result{Value: r, Err: err}
	})
}

// planFingerprint is the reviewed part of a service's config.
func planFingerprint(s config.Service) string {
	return fmt.Sprintf("rto=%d rpo=%d runbook=%s plan=%s", s.RTO, s.RPO, s.Runbook, s.ContinuityPlan)
}

// noteServicesSeen records when each service of a newly applied config was
// first seen. Runs in apply (under the FSM lock) with the entry's time.
func (f *FSM) noteServicesSeen(now time.Time, cfg *config.Config) {
	if cfg == nil {
		return
	}
	for _, s := range cfg.Services {
		if f.reviews.FirstSeen == nil {
			f.reviews.FirstSeen = map[string]time.Time{}
		}
		if _, ok := f.reviews.FirstSeen[s.ID]; !ok {
			f.reviews.FirstSeen[s.ID] = now
		}
	}
}

func (f *FSM) applyReview(now time.Time, c *ReviewCommand) (Review, error) {
	ac := f.config.Load()
	if ac == nil || ac.Config == nil {
		return Review{}, fmt.Errorf("%w: no config committed", incident.ErrConflict)
	}
	svc, ok := ac.Config.Service(c.Service)
	if !ok {
		return Review{}, fmt.Errorf("%w: no service %q", incident.ErrNotFound, c.Service)
	}
	if c.By == "" {
		return Review{}, fmt.Errorf("%w: by: required", incident.ErrInvalid)
	}
	if len(c.Note) > maxReviewNote || !utf8.ValidString(c.Note) {
		return Review{}, fmt.Errorf("%w: note: at most %d bytes of UTF-8", incident.ErrInvalid, maxReviewNote)
	}
	if c.DedupID != "" {
		for _, prev := range f.reviews.Reviews[svc.ID] {
			if prev.DedupID == c.DedupID {
				// The same reply again: already recorded, nothing changes;
				// the caller answers the stored review as a duplicate.
				return prev, fmt.Errorf("%w: review reply %s already recorded", incident.ErrDuplicate, c.DedupID)
			}
		}
	}
	r := Review{Service: svc.ID, By: c.By, Note: c.Note, Via: c.Via, DedupID: c.DedupID, At: now,
		ConfigVersion: ac.Version, Plan: planFingerprint(svc)}
	if f.reviews.Reviews == nil {
		f.reviews.Reviews = map[string][]Review{}
	}
	list := append(f.reviews.Reviews[svc.ID], r)
	if len(list) > reviewsKept {
		list = list[len(list)-reviewsKept:]
	}
	f.reviews.Reviews[svc.ID] = list
	return r, nil
}

func (f *FSM) snapshotReviews() *reviewState {
	if len(f.reviews.FirstSeen) == 0 && len(f.reviews.Reviews) == 0 {
		return nil
	}
	c := &reviewState{FirstSeen: map[string]time.Time{}, Reviews: map[string][]Review{}}
	for k, v := range f.reviews.FirstSeen {
		c.FirstSeen[k] = v
	}
	for k, v := range f.reviews.Reviews {
		c.Reviews[k] = append([]Review(nil), v...)
	}
	return c
}

func (f *FSM) setReviews(c *reviewState) {
	f.reviews = reviewState{}
	if c != nil {
		f.reviews = *c
	}
}

// ReviewStatus is a service's review state at an instant.
type ReviewStatus struct {
	Service    string     `json:"service"`
	LastReview *Review    `json:"last_review"`
	FirstSeen  *time.Time `json:"first_seen,omitempty"`
	// DueAt is review_every after the last review, else after the service
	// first appeared; nil when the service has no review_every.
	DueAt              *time.Time `json:"due_at"`
	Overdue            bool       `json:"overdue"`
	ChangedSinceReview bool       `json:"changed_since_review"`
}

// ReviewStatusOf computes a service's review state from the replicated
// state and the active config (a pure read).
func ReviewStatusOf(svc config.Service, last *Review, firstSeen *time.Time, now time.Time) ReviewStatus {
	st := ReviewStatus{Service: svc.ID, LastReview: last, FirstSeen: firstSeen}
	from := firstSeen
	if last != nil {
		from = &last.At
		st.ChangedSinceReview = last.Plan != planFingerprint(svc)
	}
	if svc.ReviewEvery > 0 && from != nil {
		due := from.Add(svc.ReviewEvery.D()).UTC()
		st.DueAt = &due
		st.Overdue = !now.Before(due)
	}
	return st
}

// ReviewStatuses returns the review state of every configured service.
func (f *FSM) ReviewStatuses(now time.Time) []ReviewStatus {
	ac := f.config.Load()
	if ac == nil || ac.Config == nil {
		return nil
	}
	f.mu.RLock()
	defer f.mu.RUnlock()
	out := make([]ReviewStatus, 0, len(ac.Config.Services))
	for _, svc := range ac.Config.Services {
		var last *Review
		if l := f.reviews.Reviews[svc.ID]; len(l) > 0 {
			r := l[len(l)-1]
			last = &r
		}
		var seen *time.Time
		if t, ok := f.reviews.FirstSeen[svc.ID]; ok {
			seen = &t
		} else if !ac.AppliedAt.IsZero() {
			// State from before first-seen was recorded (an older snapshot
			// or log): the active config's commit time stands in for it.
			t := ac.AppliedAt
			seen = &t
		}
		out = append(out, ReviewStatusOf(svc, last, seen, now))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Service < out[j].Service })
	return out
}

// Reviews returns a service's review history, oldest first.
func (f *FSM) Reviews(service string) []Review {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return append([]Review{}, f.reviews.Reviews[service]...)
}

// SubmitReview commits a plan review.
func (n *Node) SubmitReview(ctx context.Context, c ReviewCommand) (Review, error) {
	v, err := n.Submit(ctx, TypeReview, c)
	r, _ := v.(Review)
	return r, err
}
