package reports

import "time"

// Point is one bucket of a time series: incidents created in [Start,
// Start+step), drills left out.
type Point struct {
	Start time.Time `json:"start"`
	Count int       `json:"count"`
	TTA   Stats     `json:"tta"`
	TTR   Stats     `json:"ttr"`
}

// MaxPoints bounds a series so a wide window cannot build a huge chart.
const MaxPoints = 366

// Series buckets records by creation time into consecutive buckets of step
// from q.From up to q.To (the last one may be shorter), at most MaxPoints.
// Every bucket is present, empty ones with zero stats.
func Series(q Query, step time.Duration, records []Record) []Point {
	if step <= 0 || !q.From.Before(q.To) {
		return nil
	}
	// Sub saturates at ~292 years; adding to it could overflow, so round
	// up by the remainder instead.
	window := q.To.Sub(q.From)
	n := int(window / step)
	if window%step != 0 {
		n++
	}
	if n > MaxPoints || n < 0 {
		n = MaxPoints
	}
	tta := make([][]time.Duration, n)
	ttr := make([][]time.Duration, n)
	out := make([]Point, n)
	for i := range out {
		out[i].Start = q.From.Add(time.Duration(i) * step)
	}
	for i := range records {
		r := &records[i]
		if r.Drill || r.Created.Before(q.From) || !r.Created.Before(q.To) {
			continue
		}
		b := int(r.Created.Sub(q.From) / step)
		if b >= n {
			continue
		}
		out[b].Count++
		if r.FirstAck != nil {
			tta[b] = append(tta[b], r.FirstAck.Sub(r.Created))
		}
		if r.Resolved != nil {
			ttr[b] = append(ttr[b], r.Resolved.Sub(r.ImpactStart))
		}
	}
	for i := range out {
		out[i].TTA, out[i].TTR = Summarise(tta[i]), Summarise(ttr[i])
	}
	return out
}
