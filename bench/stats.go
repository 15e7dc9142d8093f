// Package bench is pagerd's load generator and measurement kit: it launches
// real pagerd clusters (and a real Alertmanager and SMTP server) on loopback,
// drives them with closed- and open-loop HTTP load, and summarises latencies
// and rates into a report printed as a table and as JSON. cmd/pagerd-bench is
// its command line; the chaos suite reuses its load and stats helpers.
package bench

import (
	"math"
	"slices"
	"sync"
	"time"
)

// Recorder collects latencies of successful operations and counts failures.
// It is safe for concurrent use.
type Recorder struct {
	mu        sync.Mutex
	lat       []time.Duration
	errors    int
	statuses  map[int]int
	firstErr  string
	items     int // events per operation summed (a webhook batch counts its alerts)
	start     time.Time
	end       time.Time
	startOnce sync.Once
}

// NewRecorder returns an empty recorder.
func NewRecorder() *Recorder { return &Recorder{statuses: map[int]int{}} }

// Begin marks the start of the measured interval (first call wins).
func (r *Recorder) Begin(t time.Time) {
	r.startOnce.Do(func() { r.mu.Lock(); r.start = t; r.mu.Unlock() })
}

// End marks the end of the measured interval.
func (r *Recorder) End(t time.Time) { r.mu.Lock(); r.end = t; r.mu.Unlock() }

// OK records one successful operation carrying items events.
func (r *Recorder) OK(d time.Duration, items int) {
	r.mu.Lock()
	r.lat = append(r.lat, d)
	r.items += items
	r.mu.Unlock()
}

// Fail records one failed operation (status 0 for a transport error).
func (r *Recorder) Fail(status int, msg string) {
	r.mu.Lock()
	r.errors++
	r.statuses[status]++
	if r.firstErr == "" {
		r.firstErr = msg
	}
	r.mu.Unlock()
}

// Summary is what a run came to.
type Summary struct {
	Requests   int         `json:"requests"` // successful operations
	Events     int         `json:"events"`   // events they carried
	Errors     int         `json:"errors"`   // failed operations
	ErrorCodes map[int]int `json:"error_codes,omitempty"`
	FirstError string      `json:"first_error,omitempty"`
	Seconds    float64     `json:"seconds"`
	ReqPerSec  float64     `json:"requests_per_s"`
	EvPerSec   float64     `json:"events_per_s"`
	P50ms      float64     `json:"p50_ms"`
	P90ms      float64     `json:"p90_ms"`
	P99ms      float64     `json:"p99_ms"`
	Maxms      float64     `json:"max_ms"`
	// ClientCPUus is the load generator's (this process's) CPU time per
	// request over a closed-loop run, in µs: what the bench took from the
	// machine the servers share.
	ClientCPUus float64        `json:"client_cpu_us_per_request,omitempty"`
	Extra       map[string]any `json:"extra,omitempty"`
}

// Summary computes rates over [Begin, End] and latency percentiles.
func (r *Recorder) Summary() Summary {
	r.mu.Lock()
	defer r.mu.Unlock()
	lat := slices.Clone(r.lat)
	slices.Sort(lat)
	s := Summary{Requests: len(lat), Events: r.items, Errors: r.errors, FirstError: r.firstErr}
	if len(r.statuses) > 0 {
		s.ErrorCodes = map[int]int{}
		for k, v := range r.statuses {
			s.ErrorCodes[k] = v
		}
	}
	if el := r.end.Sub(r.start); el > 0 {
		s.Seconds = round(el.Seconds(), 3)
		s.ReqPerSec = round(float64(len(lat))/el.Seconds(), 1)
		s.EvPerSec = round(float64(r.items)/el.Seconds(), 1)
	}
	s.P50ms = ms(Percentile(lat, 50))
	s.P90ms = ms(Percentile(lat, 90))
	s.P99ms = ms(Percentile(lat, 99))
	if len(lat) > 0 {
		s.Maxms = ms(lat[len(lat)-1])
	}
	return s
}

// Percentile returns the p-th percentile (nearest rank) of sorted durations.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = max(1, min(rank, len(sorted)))
	return sorted[rank-1]
}

func ms(d time.Duration) float64 { return round(float64(d)/float64(time.Millisecond), 2) }

func round(v float64, places int) float64 {
	p := math.Pow(10, float64(places))
	return math.Round(v*p) / p
}
