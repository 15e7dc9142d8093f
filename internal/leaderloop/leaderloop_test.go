package leaderloop

import (
	"context"
	"testing"
	"time"
)

// fakeClock hands out timers the test fires by hand.
type fakeClock struct {
	now     time.Time
	timers  chan chan time.Time
	stopped chan time.Duration
}

func (c *fakeClock) Now() time.Time { return c.now }

func (c *fakeClock) After(d time.Duration) (<-chan time.Time, func()) {
	ch := make(chan time.Time, 1)
	c.timers <- ch
	return ch, func() { c.stopped <- d }
}

// Run steps again on a wake signal and when the step's deadline passes,
// releases each timer, and returns when ctx ends.
func TestRunStepsOnWakeAndDeadline(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1000, 0), timers: make(chan chan time.Time, 4), stopped: make(chan time.Duration, 4)}
	wake := make(chan struct{}, 1)
	steps := make(chan int, 4)
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	done := make(chan struct{})
	go func() {
		defer close(done)
		Run(ctx, clock, wake, func() time.Time {
			n++
			steps <- n
			if n == 2 {
				return time.Time{} // no deadline: only wake or ctx
			}
			return clock.now.Add(time.Minute)
		})
	}()
	if got := <-steps; got != 1 {
		t.Fatalf("first step %d", got)
	}
	(<-clock.timers) <- clock.now.Add(time.Minute) // the deadline passes
	if d := <-clock.stopped; d != time.Minute {
		t.Fatalf("timer for %v, want 1m", d)
	}
	if got := <-steps; got != 2 {
		t.Fatalf("second step %d", got)
	}
	wake <- struct{}{}
	if got := <-steps; got != 3 {
		t.Fatalf("third step %d", got)
	}
	<-clock.timers
	cancel()
	<-done
	if d := <-clock.stopped; d != time.Minute {
		t.Fatalf("timer for %v not released at the end", d)
	}
	select {
	case got := <-steps:
		t.Fatalf("step %d after ctx ended", got)
	default:
	}
}

// Sleep is true when the time passes, false when ctx ends first, and
// releases its timer either way.
func TestSleep(t *testing.T) {
	clock := &fakeClock{timers: make(chan chan time.Time, 2), stopped: make(chan time.Duration, 2)}
	fired := make(chan bool)
	go func() { fired <- Sleep(context.Background(), clock, time.Second) }()
	(<-clock.timers) <- time.Time{}
	if !<-fired {
		t.Fatal("Sleep false though its time passed")
	}
	<-clock.stopped
	ctx, cancel := context.WithCancel(context.Background())
	go func() { fired <- Sleep(ctx, clock, time.Hour) }()
	<-clock.timers
	cancel()
	if <-fired {
		t.Fatal("Sleep true though ctx ended first")
	}
	if d := <-clock.stopped; d != time.Hour {
		t.Fatalf("stopped %v, want the 1h timer", d)
	}
}
