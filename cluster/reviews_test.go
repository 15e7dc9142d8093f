package cluster

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/pagerd/pagerd/config"
	"github.com/pagerd/pagerd/incident"
)

const reviewTestConfig = `
timezone: UTC
users:
  - {id: carol, email: carol@example.com}
services:
  - {id: checkout, name: Checkout, owner: carol, review_every: 90d, rto: 1h}
`

func reviewConfigCmd(t *testing.T, yaml string) command {
	t.Helper()
	cc, err := CaptureConfig([]config.Source{{Name: "c.yaml", Data: []byte(yaml)}}, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	c, _ := newCommand(TypeConfig, cc)
	return c
}

func reviewStatus(t *testing.T, f *FSM, now time.Time) ReviewStatus {
	t.Helper()
	for _, st := range f.ReviewStatuses(now) {
		if st.Service == "checkout" {
			return st
		}
	}
	t.Fatal("no review status for checkout")
	return ReviewStatus{}
}

// A service is due review_every after it first appeared, then after its
// last review; a later config keeps the first-seen time; changing the rto
// after the review marks it changed_since_review; snapshots keep it all.
func TestReviewDueFirstSeenAndChanged(t *testing.T) {
	f := NewFSM(func(err error) { t.Fatal(err) })
	day0 := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	applyAt(t, f, 1, day0, reviewConfigCmd(t, reviewTestConfig))
	st := reviewStatus(t, f, day0)
	if st.DueAt == nil || !st.DueAt.Equal(day0.Add(90*24*time.Hour)) || st.Overdue || st.LastReview != nil {
		t.Fatalf("after first apply: %+v", st)
	}
	// Re-applying the config later does not move first-seen.
	applyAt(t, f, 2, day0.Add(24*time.Hour), reviewConfigCmd(t, reviewTestConfig+"\n"))
	if st := reviewStatus(t, f, day0.Add(90*24*time.Hour)); !st.DueAt.Equal(day0.Add(90*24*time.Hour)) || !st.Overdue {
		t.Fatalf("at day 90: %+v", st)
	}
	// A review at day 95 moves the due date to day 185.
	c, _ := newCommand(TypeReview, ReviewCommand{Service: "checkout", By: "carol", Note: "ok"})
	r := applyAt(t, f, 3, day0.Add(95*24*time.Hour), c)
	if r[0].Err != nil {
		t.Fatal(r[0].Err)
	}
	st = reviewStatus(t, f, day0.Add(96*24*time.Hour))
	if !st.DueAt.Equal(day0.Add(185*24*time.Hour)) || st.Overdue || st.ChangedSinceReview || st.LastReview.ConfigVersion == "" {
		t.Fatalf("after review: %+v", st)
	}
	// Changing the rto marks the plan changed since its review.
	applyAt(t, f, 4, day0.Add(97*24*time.Hour), reviewConfigCmd(t, strings.Replace(reviewTestConfig, "rto: 1h", "rto: 2h", 1)))
	if st := reviewStatus(t, f, day0.Add(97*24*time.Hour)); !st.ChangedSinceReview {
		t.Fatalf("rto change not noticed: %+v", st)
	}
	// Snapshot and restore keep reviews and first-seen.
	snap, err := f.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	sink := &memSink{}
	if err := snap.Persist(sink); err != nil {
		t.Fatal(err)
	}
	g := NewFSM(func(err error) { t.Fatal(err) })
	if err := g.Restore(io.NopCloser(bytes.NewReader(sink.Bytes()))); err != nil {
		t.Fatal(err)
	}
	if got := g.Reviews("checkout"); len(got) != 1 || got[0].By != "carol" {
		t.Fatalf("restored reviews %+v", got)
	}
	if st := reviewStatus(t, g, day0.Add(97*24*time.Hour)); !st.DueAt.Equal(day0.Add(185*24*time.Hour)) || !st.ChangedSinceReview {
		t.Fatalf("restored status %+v", st)
	}
}

// Bad reviews are refused precisely and change nothing.
func TestReviewRefusals(t *testing.T) {
	f := NewFSM(func(err error) { t.Fatal(err) })
	now := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	applyAt(t, f, 1, now, reviewConfigCmd(t, reviewTestConfig))
	for i, tc := range []struct {
		c    ReviewCommand
		want error
		msg  string
	}{
		{ReviewCommand{Service: "nope", By: "carol"}, incident.ErrNotFound, `no service "nope"`},
		{ReviewCommand{Service: "checkout"}, incident.ErrInvalid, "by: required"},
		{ReviewCommand{Service: "checkout", By: "c", Note: strings.Repeat("x", maxReviewNote+1)}, incident.ErrInvalid, "note:"},
	} {
		c, _ := newCommand(TypeReview, tc.c)
		r := applyAt(t, f, uint64(2+i), now, c)
		if !errors.Is(r[0].Err, tc.want) || !strings.Contains(r[0].Err.Error(), tc.msg) {
			t.Fatalf("%+v: %v, want %v %q", tc.c, r[0].Err, tc.want, tc.msg)
		}
	}
	if len(f.Reviews("checkout")) != 0 {
		t.Fatal("a refused review was recorded")
	}
}

// A state restored from before first-seen times were recorded still has a
// due date: review_every after the active config's commit.
func TestReviewDueWithoutFirstSeen(t *testing.T) {
	f := NewFSM(func(err error) { t.Fatal(err) })
	day0 := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	applyAt(t, f, 1, day0, reviewConfigCmd(t, reviewTestConfig))
	f.reviews = reviewState{} // as restored from an older snapshot
	if st := reviewStatus(t, f, day0); st.DueAt == nil || !st.DueAt.Equal(day0.Add(90*24*time.Hour)) {
		t.Fatalf("due %v", st.DueAt)
	}
}

// The same email reply committed twice (a mail server retrying after a
// timeout) records one review; the second answers the first's review with
// ErrDuplicate (the API's X-Pagerd-Duplicate).
func TestReviewDedup(t *testing.T) {
	f := NewFSM(func(err error) { t.Fatal(err) })
	now := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	applyAt(t, f, 1, now, reviewConfigCmd(t, reviewTestConfig))
	for i := 0; i < 2; i++ {
		c, _ := newCommand(TypeReview, ReviewCommand{Service: "checkout", By: "carol", Via: "email", DedupID: "email:m1@x/rv-tok"})
		r := applyAt(t, f, uint64(2+i), now.Add(time.Duration(i)*time.Minute), c)
		if dup := errors.Is(r[0].Err, incident.ErrDuplicate); (i == 0 && r[0].Err != nil) || (i == 1 && !dup) {
			t.Fatalf("delivery %d: %v", i+1, r[0].Err)
		}
		if rv, _ := r[0].Value.(Review); !rv.At.Equal(now) {
			t.Fatalf("delivery %d answered %+v", i+1, r[0].Value)
		}
	}
	if got := f.Reviews("checkout"); len(got) != 1 || !got[0].At.Equal(now) {
		t.Fatalf("reviews %+v", got)
	}
}
