package reports

import (
	"fmt"
	"math"
	"sort"
	"time"
)

// Groupings of a response report.
const (
	ByService  = "service"
	BySeverity = "severity"
)

// Query selects a report: incidents created in [From, To), grouped By.
type Query struct {
	From, To time.Time
	By       string
}

// Check names the field that makes q unusable.
func (q Query) Check() error {
	if q.By != ByService && q.By != BySeverity {
		return fmt.Errorf("group_by: must be service or severity, not %q", q.By)
	}
	if q.From.After(q.To) {
		return fmt.Errorf("from: %s is after to (%s)", q.From.UTC().Format(time.RFC3339), q.To.UTC().Format(time.RFC3339))
	}
	return nil
}

// Stats summarises durations in seconds: N samples, their nearest-rank
// 50th and 90th percentiles and their mean, each rounded to the
// millisecond. All zero when there are no samples.
type Stats struct {
	N    int     `json:"n"`
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	Mean float64 `json:"mean"`
}

// Group is the report of one service or severity (or of all: Total).
type Group struct {
	Group string `json:"group"`
	Count int    `json:"count"`
	// TTA: first acknowledgement − creation, over acknowledged incidents.
	TTA Stats `json:"tta"`
	// TTR: resolve − impact start, over resolved incidents.
	TTR       Stats          `json:"ttr"`
	Escalated int            `json:"escalated"`
	Deferred  int            `json:"deferred"`
	Pages     map[string]int `json:"pages"`
}

// Response is the response report (GET /v1/reports/response).
type Response struct {
	From    time.Time `json:"from"`
	To      time.Time `json:"to"`
	GroupBy string    `json:"group_by"`
	// Drills is how many drill incidents in the window were left out.
	Drills int     `json:"drills_left_out"`
	Groups []Group `json:"groups"`
	Total  Group   `json:"total"`
}

// Build computes the report over records already selected by creation time
// (Build checks the window again, so a caller may pass more). Drills are
// left out. Groups are sorted by name; an empty window has no groups and a
// zero total.
func Build(q Query, records []Record) Response {
	out := Response{From: q.From, To: q.To, GroupBy: q.By, Groups: []Group{}}
	acc := map[string]*accum{}
	total := &accum{}
	for i := range records {
		r := &records[i]
		if r.Created.Before(q.From) || !r.Created.Before(q.To) {
			continue
		}
		if r.Drill {
			out.Drills++
			continue
		}
		key := r.Service
		if q.By == BySeverity {
			key = r.Severity
		}
		a := acc[key]
		if a == nil {
			a = &accum{}
			acc[key] = a
		}
		a.add(r)
		total.add(r)
	}
	names := make([]string, 0, len(acc))
	for k := range acc {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		out.Groups = append(out.Groups, acc[k].group(k))
	}
	out.Total = total.group("total")
	return out
}

type accum struct {
	count, escalated, deferred int
	tta, ttr                   []time.Duration
	pages                      map[string]int
}

func (a *accum) add(r *Record) {
	a.count++
	if r.FirstAck != nil {
		a.tta = append(a.tta, r.FirstAck.Sub(r.Created))
	}
	if r.Resolved != nil {
		a.ttr = append(a.ttr, r.Resolved.Sub(r.ImpactStart))
	}
	if r.Escalated {
		a.escalated++
	}
	if r.Deferred {
		a.deferred++
	}
	for ch, n := range r.Pages {
		if a.pages == nil {
			a.pages = map[string]int{}
		}
		a.pages[ch] += n
	}
}

func (a *accum) group(name string) Group {
	pages := a.pages
	if pages == nil {
		pages = map[string]int{}
	}
	return Group{Group: name, Count: a.count, TTA: Summarise(a.tta), TTR: Summarise(a.ttr),
		Escalated: a.escalated, Deferred: a.deferred, Pages: pages}
}

// Summarise gives the stats of ds (which it sorts). Percentiles are
// nearest-rank: the p-th percentile of n sorted samples is the sample at
// 1-based rank ceil(p/100 × n), so it is always one of the samples.
func Summarise(ds []time.Duration) Stats {
	if len(ds) == 0 {
		return Stats{}
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return Stats{N: len(ds), P50: seconds(NearestRank(ds, 50)), P90: seconds(NearestRank(ds, 90)),
		Mean: seconds(mean(ds))}
}

// mean is the mean of ds without summing them: a time to resolve counts
// from a person-set impact start, which may be centuries back (time.Sub
// saturates at about 292 years), and two such sums overflowed int64 into
// a negative mean. Each d/n is at most max/n, so their sum cannot
// overflow; the remainders add up to less than n² in size.
func mean(ds []time.Duration) time.Duration {
	n := time.Duration(len(ds))
	var quot, rem time.Duration
	for _, d := range ds {
		quot += d / n
		rem += d % n
	}
	return quot + rem/n
}

// NearestRank is the p-th percentile (0 < p ≤ 100) of sorted, non-empty ds.
func NearestRank(sorted []time.Duration, p int) time.Duration {
	rank := (p*len(sorted) + 99) / 100 // ceil(p·n/100), integers only
	if rank < 1 {
		rank = 1
	}
	return sorted[rank-1]
}

func seconds(d time.Duration) float64 {
	return math.Round(d.Seconds()*1000) / 1000
}
