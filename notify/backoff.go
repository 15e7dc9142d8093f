package notify

import (
	"math"
	"math/rand/v2"
	"time"
)

// Backoff defaults, used for zero or invalid fields.
const (
	DefaultBackoffBase   = time.Second
	DefaultBackoffMax    = 2 * time.Minute
	DefaultBackoffFactor = 2.0
)

// DefaultBackoff is the retry spacing the engine should use unless configured
// otherwise: 1s, 2s, 4s, … capped at 2m, with full jitter. With the cap at 2m a
// page is retried at least every two minutes, which keeps a failing channel
// well inside a typical 10m escalate_after.
var DefaultBackoff = Backoff{Base: DefaultBackoffBase, Max: DefaultBackoffMax, Factor: DefaultBackoffFactor}

// Backoff computes exponential retry delays with full jitter
// (delay = rnd() × min(Max, Base × Factor^attempt)). Full jitter rather than a
// fixed schedule because after a provider outage every node's queued pages
// would otherwise retry in lock step and trip the provider's rate limit again.
type Backoff struct {
	Base   time.Duration // ceiling of the first retry; default 1s
	Max    time.Duration // cap of every ceiling; default 2m
	Factor float64       // growth per attempt; default 2, values < 1 mean default
}

// Ceiling is the un-jittered delay bound for attempt (0 = first retry).
func (b Backoff) Ceiling(attempt int) time.Duration {
	b = b.withDefaults()
	if attempt < 0 {
		attempt = 0
	}
	// Computed in float64 so large attempts saturate at Max instead of
	// overflowing time.Duration.
	c := float64(b.Base) * math.Pow(b.Factor, float64(attempt))
	if math.IsNaN(c) || c >= float64(b.Max) {
		return b.Max
	}
	return time.Duration(c)
}

// Delay returns how long to wait before retry number attempt (0 = first
// retry): a uniformly random duration in [0, Ceiling(attempt)). rnd must return
// values in [0, 1); it is injected so tests are deterministic. nil uses
// math/rand/v2. Out-of-range rnd values are clamped.
func (b Backoff) Delay(attempt int, rnd func() float64) time.Duration {
	if rnd == nil {
		rnd = rand.Float64
	}
	r := rnd()
	switch {
	case math.IsNaN(r) || r < 0:
		r = 0
	case r >= 1:
		r = math.Nextafter(1, 0)
	}
	return time.Duration(r * float64(b.Ceiling(attempt)))
}

// Next is the wait before retry number attempt after err: the provider's
// Retry-After when it sent one (it knows its own rate limit better than we
// do, so it is honoured even beyond Max, up to MaxRetryAfter), else Delay.
func (b Backoff) Next(attempt int, err error, rnd func() float64) time.Duration {
	if d, ok := RetryAfter(err); ok {
		return d
	}
	return b.Delay(attempt, rnd)
}

func (b Backoff) withDefaults() Backoff {
	if b.Base <= 0 {
		b.Base = DefaultBackoffBase
	}
	if b.Max <= 0 {
		b.Max = DefaultBackoffMax
	}
	if b.Max < b.Base {
		b.Max = b.Base
	}
	if !(b.Factor >= 1) || math.IsInf(b.Factor, 0) { // also catches NaN
		b.Factor = DefaultBackoffFactor
	}
	return b
}
