package reports

import (
	"bytes"
	"encoding/json"
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

// twenty are 20 checkout incidents, one an hour, shuffled: the i-th (1..20)
// is acknowledged i×10s + 250ms after creation and resolved i minutes
// after its impact start, which is 30s before creation.
func twenty() []Record {
	var rs []Record
	for _, i := range []int{7, 3, 19, 1, 12, 20, 5, 16, 9, 2, 14, 11, 18, 4, 8, 13, 6, 17, 10, 15} {
		created := t0.Add(time.Duration(i) * time.Hour)
		ack := created.Add(time.Duration(i)*10*time.Second + 250*time.Millisecond)
		start := created.Add(-30 * time.Second)
		res := start.Add(time.Duration(i) * time.Minute)
		rs = append(rs, Record{Service: "checkout", Severity: "sev2", Created: created, FirstAck: &ack,
			Resolved: &res, ImpactStart: start, Pages: map[string]int{"sms": 1}})
	}
	return rs
}

func TestTwentyIncidentsGiveExactPercentilesAndMean(t *testing.T) {
	q := Query{From: t0, To: t0.Add(48 * time.Hour), By: ByService}
	rep := Build(q, twenty())
	if len(rep.Groups) != 1 || rep.Groups[0].Group != "checkout" {
		t.Fatalf("groups %+v", rep.Groups)
	}
	g := rep.Groups[0]
	// Nearest rank of 20: p50 is the 10th, p90 the 18th smallest.
	wantTTA := Stats{N: 20, P50: 100.25, P90: 180.25, Mean: 105.25}
	wantTTR := Stats{N: 20, P50: 600, P90: 1080, Mean: 630}
	if g.Count != 20 || g.TTA != wantTTA || g.TTR != wantTTR || g.Pages["sms"] != 20 {
		t.Fatalf("group %+v\nwant tta %+v ttr %+v", g, wantTTA, wantTTR)
	}
	if rep.Total.Count != 20 || rep.Total.TTA != wantTTA || rep.Total.TTR != wantTTR {
		t.Fatalf("total %+v", rep.Total)
	}
	var buf bytes.Buffer
	if err := WriteCSV(&buf, rep); err != nil {
		t.Fatal(err)
	}
	want := "service,count,tta_n,tta_p50,tta_p90,tta_mean,ttr_n,ttr_p50,ttr_p90,ttr_mean,escalated,deferred,pages_sms,pages_email,pages_webhook\n" +
		"checkout,20,20,100.25,180.25,105.25,20,600,1080,630,0,0,20,0,0\n" +
		"total,20,20,100.25,180.25,105.25,20,600,1080,630,0,0,20,0,0\n"
	if buf.String() != want {
		t.Fatalf("csv:\n%s\nwant:\n%s", buf.String(), want)
	}
}

func TestDrillsAndOutsideTheWindowAreLeftOut(t *testing.T) {
	rs := twenty()
	quick := t0.Add(90 * time.Minute)
	created := t0.Add(90*time.Minute - time.Second)
	// A drill acknowledged in 1s and one created exactly at `to`.
	rs = append(rs, Record{Service: "checkout", Severity: "sev2", Created: created, FirstAck: &quick, Drill: true},
		Record{Service: "checkout", Severity: "sev2", Created: t0.Add(48 * time.Hour), FirstAck: &quick})
	rep := Build(Query{From: t0, To: t0.Add(48 * time.Hour), By: ByService}, rs)
	if rep.Total.Count != 20 || rep.Total.TTA.P50 != 100.25 || rep.Drills != 1 {
		t.Fatalf("total %+v drills %d", rep.Total, rep.Drills)
	}
	// from is inclusive: an incident created at from counts.
	rep = Build(Query{From: t0.Add(20 * time.Hour), To: t0.Add(21 * time.Hour), By: ByService}, rs)
	if rep.Total.Count != 1 || rep.Total.TTA.P50 != 200.25 {
		t.Fatalf("one-hour window: %+v", rep.Total)
	}
}

func TestEmptyWindowGivesZeros(t *testing.T) {
	rep := Build(Query{From: t0, To: t0, By: BySeverity}, twenty())
	if len(rep.Groups) != 0 || rep.Total.Count != 0 || rep.Total.TTA != (Stats{}) || rep.Total.TTR != (Stats{}) {
		t.Fatalf("empty window: %+v", rep)
	}
	b, _ := json.Marshal(rep)
	for _, want := range []string{`"groups":[]`, `"tta":{"n":0,"p50":0,"p90":0,"mean":0}`, `"pages":{}`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("json %s lacks %s", b, want)
		}
	}
}

func TestGroupsBySeverityCountEscalatedDeferredAndPages(t *testing.T) {
	ack := t0.Add(time.Minute)
	rs := []Record{
		{Service: "a", Severity: "sev1", Created: t0, FirstAck: &ack, Escalated: true, Pages: map[string]int{"sms": 2, "email": 1}},
		{Service: "b", Severity: "sev1", Created: t0, Deferred: true},
		{Service: "a", Severity: "sev3", Created: t0, Pages: map[string]int{"webhook": 1}},
	}
	rep := Build(Query{From: t0, To: t0.Add(time.Hour), By: BySeverity}, rs)
	if len(rep.Groups) != 2 || rep.Groups[0].Group != "sev1" || rep.Groups[1].Group != "sev3" {
		t.Fatalf("groups %+v", rep.Groups)
	}
	s1 := rep.Groups[0]
	if s1.Count != 2 || s1.Escalated != 1 || s1.Deferred != 1 || s1.Pages["sms"] != 2 || s1.Pages["email"] != 1 ||
		s1.TTA != (Stats{N: 1, P50: 60, P90: 60, Mean: 60}) || s1.TTR.N != 0 {
		t.Fatalf("sev1 %+v", s1)
	}
	if rep.Total.Pages["webhook"] != 1 || rep.Total.Count != 3 {
		t.Fatalf("total %+v", rep.Total)
	}
}

func TestNearestRank(t *testing.T) {
	ds := func(secs ...int) []time.Duration {
		var out []time.Duration
		for _, s := range secs {
			out = append(out, time.Duration(s)*time.Second)
		}
		return out
	}
	for _, c := range []struct {
		in       []time.Duration
		p50, p90 float64
	}{
		{ds(42), 42, 42},
		{ds(1, 2), 1, 2},
		{ds(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 5, 9},
		{ds(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11), 6, 10},
	} {
		s := Summarise(c.in)
		if s.P50 != c.p50 || s.P90 != c.p90 {
			t.Errorf("%v: p50 %v p90 %v, want %v %v", c.in, s.P50, s.P90, c.p50, c.p90)
		}
	}
}

func TestCheckNamesTheField(t *testing.T) {
	if err := (Query{From: t0, To: t0, By: "team"}).Check(); err == nil || !strings.HasPrefix(err.Error(), "group_by:") {
		t.Errorf("bad group_by: %v", err)
	}
	if err := (Query{From: t0.Add(time.Second), To: t0, By: ByService}).Check(); err == nil || !strings.HasPrefix(err.Error(), "from:") {
		t.Errorf("from after to: %v", err)
	}
	if err := (Query{From: t0, To: t0, By: ByService}).Check(); err != nil {
		t.Errorf("empty window: %v", err)
	}
}

// A window wider than a time.Duration (from year 1) neither overflows nor
// panics: the series is cut at MaxPoints.
func TestSeriesOfAHugeWindowIsBounded(t *testing.T) {
	q := Query{From: time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), To: t0, By: ByService}
	if pts := Series(q, 7*24*time.Hour, twenty()); len(pts) != MaxPoints {
		t.Fatalf("%d points, want %d", len(pts), MaxPoints)
	}
	if pts := Series(q, time.Duration(math.MaxInt64), twenty()); len(pts) != 1 {
		t.Fatalf("%d points of the widest step, want 1", len(pts))
	}
}

func TestSeriesBucketsEveryWeek(t *testing.T) {
	q := Query{From: t0, To: t0.Add(15 * 24 * time.Hour), By: ByService}
	pts := Series(q, 7*24*time.Hour, twenty())
	if len(pts) != 3 || pts[0].Count != 20 || pts[1].Count != 0 || pts[2].Count != 0 {
		t.Fatalf("points %+v", pts)
	}
	if pts[0].TTA.P90 != 180.25 || pts[1].TTA != (Stats{}) || !pts[2].Start.Equal(t0.Add(14*24*time.Hour)) {
		t.Fatalf("points %+v", pts)
	}
}

// TestMeanDoesNotOverflow: time to resolve runs from a person-set impact
// start, which may be centuries back (time.Sub then saturates at about
// 292 years); summing such durations overflowed int64 and gave a negative
// mean. The mean lies between the smallest and largest sample.
func TestMeanDoesNotOverflow(t *testing.T) {
	const huge = time.Duration(1<<63 - 1)
	for _, ds := range [][]time.Duration{
		{huge, huge},
		{huge, huge, time.Second},
		{huge / 2, huge / 2, huge / 2, 3},
		{-huge, -huge, huge},
	} {
		in := append([]time.Duration(nil), ds...)
		s := Summarise(in)
		lo, hi := seconds(slices.Min(ds)), seconds(slices.Max(ds))
		if s.Mean < lo || s.Mean > hi {
			t.Errorf("%v: mean %v outside [%v, %v]", ds, s.Mean, lo, hi)
		}
	}
	if s := Summarise([]time.Duration{time.Second, 2 * time.Second, 4 * time.Second}); s.Mean != 2.333 {
		t.Errorf("mean of 1s 2s 4s = %v, want 2.333", s.Mean)
	}
}
