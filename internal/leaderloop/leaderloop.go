// Package leaderloop is the wait loop the leader-only routines share (the
// escalation engine, the reminder engine, the event publisher): do a step,
// then sleep until the step's next deadline, a wake signal from a state
// change, or the end of leadership.
package leaderloop

import (
	"context"
	"time"
)

// Clock is a routine's time source; tests inject a fake one.
type Clock interface {
	Now() time.Time
	// After returns a channel that receives once d has passed and a stop
	// function releasing it.
	After(d time.Duration) (<-chan time.Time, func())
}

// RealClock is the wall clock.
type RealClock struct{}

// Now is time.Now.
func (RealClock) Now() time.Time { return time.Now() }

// After is a time.Timer with its Stop.
func (RealClock) After(d time.Duration) (<-chan time.Time, func()) {
	t := time.NewTimer(d)
	return t.C, func() { t.Stop() }
}

// Run calls step until ctx ends. After each step it waits for ctx, a
// signal on wake, or the time step returned (a zero time: no timer, only
// wake or ctx end it). The timer is released before the next step.
func Run(ctx context.Context, clock Clock, wake <-chan struct{}, step func() time.Time) {
	for {
		next := step()
		var timer <-chan time.Time
		stop := func() {}
		if !next.IsZero() {
			timer, stop = clock.After(next.Sub(clock.Now()))
		}
		select {
		case <-ctx.Done():
			stop()
			return
		case <-wake:
		case <-timer:
		}
		stop()
	}
}

// Sleep waits d on clock; false when ctx ended first.
func Sleep(ctx context.Context, clock Clock, d time.Duration) bool {
	c, stop := clock.After(d)
	defer stop()
	select {
	case <-c:
		return true
	case <-ctx.Done():
		return false
	}
}
