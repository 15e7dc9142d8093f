package bench

import (
	"context"
	"sync"
	"sync/atomic"
	"syscall"
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
	return ClosedLoopWorkers(ctx, conc, warmup, d, func(int) (Op, func()) { return op, func() {} })
}

// WorkerOps makes worker w's operation and the func that releases what it
// holds (its connection) when the worker ends.
type WorkerOps func(w int) (op Op, release func())

// ClosedLoopWorkers is ClosedLoop with an operation of its own per worker
// (a client that keeps one connection per worker). It also reports the
// load generator's own cost: this process's CPU time over the run divided
// by the operations issued in it (warm-up included, failures too).
func ClosedLoopWorkers(ctx context.Context, conc int, warmup, d time.Duration, ops WorkerOps) Summary {
	rec := NewRecorder()
	var seq, issued atomic.Int64
	begin := time.Now().Add(warmup)
	end := begin.Add(d)
	rec.Begin(begin)
	cpu0 := processCPUSeconds()
	var wg sync.WaitGroup
	for w := range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			op, release := ops(w)
			defer release()
			for ctx.Err() == nil {
				t0 := time.Now()
				if !t0.Before(end) {
					return
				}
				issued.Add(1)
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
	cpu := processCPUSeconds() - cpu0
	rec.End(end)
	s := rec.Summary()
	if n := issued.Load(); n > 0 {
		s.ClientCPUus = round(cpu*1e6/float64(n), 1)
	}
	return s
}

// processCPUSeconds is this process's user+system CPU time, to the
// microsecond (getrusage; /proc's clock ticks are 10 ms).
func processCPUSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return SelfCPUSeconds()
	}
	return float64(ru.Utime.Sec+ru.Stime.Sec) + float64(ru.Utime.Usec+ru.Stime.Usec)/1e6
}

// OpenLoop issues operations at a fixed rate (per second) for d, whatever the
// server's latency, with at most maxInFlight outstanding. Latency is measured
// from each operation's intended start, so a stalled server is charged for the
// queue it causes (no coordinated omission). An operation that could not start
// because maxInFlight were outstanding still counts from its intended time.
func OpenLoop(ctx context.Context, rate float64, d time.Duration, maxInFlight int, op Op) Summary {
	return OpenLoopWorkers(ctx, rate, d, maxInFlight, func(int) (Op, func()) { return op, func() {} })
}

// OpenLoopWorkers is OpenLoop where each operation in flight holds one
// worker's operation (with its connection) from a pool of at most
// maxInFlight, made when none is free and reused after, so an open-loop
// run uses the same client as the closed-loop points whose maximum it
// halves. It reports the generator's CPU per operation like
// ClosedLoopWorkers.
func OpenLoopWorkers(ctx context.Context, rate float64, d time.Duration, maxInFlight int, ops WorkerOps) Summary {
	type worker struct {
		op      Op
		release func()
	}
	rec := NewRecorder()
	free := make(chan worker, maxInFlight)
	var made []worker
	interval := time.Duration(float64(time.Second) / rate)
	start := time.Now()
	rec.Begin(start)
	cpu0 := processCPUSeconds()
	var wg sync.WaitGroup
	var late, issued int64
	for k := int64(0); ; k++ {
		intended := start.Add(time.Duration(k) * interval)
		if intended.Sub(start) >= d || ctx.Err() != nil {
			break
		}
		if wait := time.Until(intended); wait > 0 {
			time.Sleep(wait) // pacing the arrivals, not synchronisation
		}
		var w worker
		select {
		case w = <-free:
		default:
			if len(made) < maxInFlight {
				op, release := ops(len(made))
				w = worker{op, release}
				made = append(made, w)
			} else {
				late++
				w = <-free
			}
		}
		issued++
		wg.Add(1)
		go func(i int64, intended time.Time) {
			defer wg.Done()
			defer func() { free <- w }()
			items, status, err := w.op(ctx, i)
			if err != nil {
				rec.Fail(status, err.Error())
				return
			}
			rec.OK(time.Since(intended), items)
		}(k+1, intended)
	}
	wg.Wait()
	cpu := processCPUSeconds() - cpu0
	for _, w := range made {
		w.release()
	}
	rec.End(time.Now())
	s := rec.Summary()
	if issued > 0 {
		s.ClientCPUus = round(cpu*1e6/float64(issued), 1)
	}
	s.Extra = map[string]any{"target_rate": round(rate, 1), "waited_for_a_slot": late, "connections": len(made)}
	return s
}
