package bench

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// Op performs operation number i. It returns how many events the operation
// carried, and a non-nil error (with the HTTP status, 0 for transport errors)
// when it did not succeed.
type Op func(ctx context.Context, i int64) (items int, status int, err error)

// ClosedLoop runs conc workers that each issue operations back to back for
// warmup+d. Operations that start during the warm-up are not measured; the
// rate is the number of operations started and completed in the measured
// window divided by its length.
func ClosedLoop(ctx context.Context, conc int, warmup, d time.Duration, op Op) Summary {
	rec := NewRecorder()
	var seq atomic.Int64
	begin := time.Now().Add(warmup)
	end := begin.Add(d)
	rec.Begin(begin)
	var wg sync.WaitGroup
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				t0 := time.Now()
				if !t0.Before(end) {
					return
				}
				items, status, err := op(ctx, seq.Add(1))
				t1 := time.Now()
				if t0.Before(begin) || t1.After(end) {
					if err != nil {
						time.Sleep(10 * time.Millisecond) // client pacing after a refusal
					}
					continue
				}
				if err != nil {
					rec.Fail(status, err.Error())
					time.Sleep(10 * time.Millisecond) // client pacing after a refusal
					continue
				}
				rec.OK(t1.Sub(t0), items)
			}
		}()
	}
	wg.Wait()
	rec.End(end)
	return rec.Summary()
}

// OpenLoop issues operations at a fixed rate (per second) for d, whatever the
// server's latency, with at most maxInFlight outstanding. Latency is measured
// from each operation's intended start, so a stalled server is charged for the
// queue it causes (no coordinated omission). An operation that could not start
// because maxInFlight were outstanding still counts from its intended time.
func OpenLoop(ctx context.Context, rate float64, d time.Duration, maxInFlight int, op Op) Summary {
	rec := NewRecorder()
	sem := make(chan struct{}, maxInFlight)
	interval := time.Duration(float64(time.Second) / rate)
	start := time.Now()
	rec.Begin(start)
	var wg sync.WaitGroup
	var late atomic.Int64
	for k := int64(0); ; k++ {
		intended := start.Add(time.Duration(k) * interval)
		if intended.Sub(start) >= d || ctx.Err() != nil {
			break
		}
		if wait := time.Until(intended); wait > 0 {
			time.Sleep(wait) // pacing the arrivals, not synchronisation
		}
		select {
		case sem <- struct{}{}:
		default:
			late.Add(1)
			sem <- struct{}{}
		}
		wg.Add(1)
		go func(i int64, intended time.Time) {
			defer wg.Done()
			defer func() { <-sem }()
			items, status, err := op(ctx, i)
			if err != nil {
				rec.Fail(status, err.Error())
				return
			}
			rec.OK(time.Since(intended), items)
		}(k+1, intended)
	}
	wg.Wait()
	rec.End(time.Now())
	s := rec.Summary()
	s.Extra = map[string]any{"target_rate": round(rate, 1), "waited_for_a_slot": late.Load()}
	return s
}
