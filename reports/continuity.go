package reports

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"time"
)

// Continuity report (spec §5.3, issue 16 item 5): per service, its
// criticality and RTO, the real incidents of the window and how many met
// or breached the RTO, the drills run and passed and the last one, and the
// plan review's due date. Pure: callers copy the inputs first.

// ServiceInfo is what the report needs of a configured service.
type ServiceInfo struct {
	ID          string
	Name        string
	Criticality string
	RTO         time.Duration // 0: none set
	RTOText     string        // as written in the config ("1h")
}

// DrillRecord is one drill run.
type DrillRecord struct {
	ID        string    `json:"id"`
	Drill     string    `json:"drill"`
	Service   string    `json:"service"`
	Status    string    `json:"status"` // running | passed | failed | skipped
	StartedAt time.Time `json:"started_at"`
}

// ReviewRecord is a service's plan review state.
type ReviewRecord struct {
	Service string
	DueAt   *time.Time
	Overdue bool
}

// ContinuityDrills is the drill part of one service's row.
type ContinuityDrills struct {
	Runs   int          `json:"runs"`
	Passed int          `json:"passed"`
	Last   *DrillRecord `json:"last"`
}

// ContinuityReview is the review part of one service's row.
type ContinuityReview struct {
	DueAt   *time.Time `json:"due_at"`
	Overdue bool       `json:"overdue"`
}

// ContinuityRow is one service in the report.
type ContinuityRow struct {
	Service     string `json:"service"`
	Name        string `json:"name"`
	Criticality string `json:"criticality"`
	RTO         string `json:"rto"`
	// Incidents are the real (not drill) incidents created in the window.
	Incidents int `json:"incidents"`
	// RTOMet: resolved within the RTO of their start (impact start, else
	// detection: Record.ImpactStart, as the response report's TTR).
	// RTOBreached: resolved later, or still open past it. Incidents still
	// open within their RTO are neither. Both 0 without an RTO.
	RTOMet      int              `json:"rto_met"`
	RTOBreached int              `json:"rto_breached"`
	Drills      ContinuityDrills `json:"drills"`
	Review      ContinuityReview `json:"review"`
}

// Continuity is the report.
type Continuity struct {
	From     time.Time       `json:"from"`
	To       time.Time       `json:"to"`
	Services []ContinuityRow `json:"services"`
}

// BuildContinuity computes the report for incidents and drill runs of
// [q.From, q.To), judged at now (for open incidents), one row per service
// in services' order.
func BuildContinuity(q Query, now time.Time, services []ServiceInfo, incidents []Record, drills []DrillRecord, reviews []ReviewRecord) Continuity {
	rep := Continuity{From: q.From, To: q.To, Services: make([]ContinuityRow, 0, len(services))}
	for _, svc := range services {
		row := ContinuityRow{Service: svc.ID, Name: svc.Name, Criticality: svc.Criticality, RTO: svc.RTOText}
		for i := range incidents {
			r := &incidents[i]
			if r.Service != svc.ID || r.Drill || r.Created.Before(q.From) || !r.Created.Before(q.To) {
				continue
			}
			row.Incidents++
			switch rtoOutcome(r, svc.RTO, now) {
			case 1:
				row.RTOMet++
			case -1:
				row.RTOBreached++
			}
		}
		for i := range drills {
			d := drills[i]
			if d.Service != svc.ID || d.StartedAt.Before(q.From) || !d.StartedAt.Before(q.To) {
				continue
			}
			row.Drills.Runs++
			if d.Status == "passed" {
				row.Drills.Passed++
			}
			if row.Drills.Last == nil || !d.StartedAt.Before(row.Drills.Last.StartedAt) {
				row.Drills.Last = &d
			}
		}
		for _, rv := range reviews {
			if rv.Service == svc.ID {
				row.Review = ContinuityReview{DueAt: rv.DueAt, Overdue: rv.Overdue}
			}
		}
		rep.Services = append(rep.Services, row)
	}
	return rep
}

// rtoOutcome: 1 met, -1 breached, 0 neither (no RTO, or open within it).
func rtoOutcome(r *Record, rto time.Duration, now time.Time) int {
	if rto <= 0 {
		return 0
	}
	if r.Resolved != nil {
		if r.Resolved.Sub(r.ImpactStart) <= rto {
			return 1
		}
		return -1
	}
	if now.Sub(r.ImpactStart) > rto {
		return -1
	}
	return 0
}

// WriteContinuityCSV writes the report as CSV, one row per service.
func WriteContinuityCSV(w io.Writer, rep Continuity) error {
	cw := csv.NewWriter(w)
	rows := [][]string{{"service", "criticality", "rto", "incidents", "rto_met", "rto_breached",
		"drill_runs", "drills_passed", "last_drill", "last_drill_status", "review_due_at", "review_overdue"}}
	for _, r := range rep.Services {
		last, lastStatus, due := "", "", ""
		if r.Drills.Last != nil {
			last, lastStatus = r.Drills.Last.StartedAt.UTC().Format(time.RFC3339), r.Drills.Last.Status
		}
		if r.Review.DueAt != nil {
			due = r.Review.DueAt.UTC().Format(time.RFC3339)
		}
		rows = append(rows, []string{r.Service, r.Criticality, r.RTO, strconv.Itoa(r.Incidents),
			strconv.Itoa(r.RTOMet), strconv.Itoa(r.RTOBreached), strconv.Itoa(r.Drills.Runs),
			strconv.Itoa(r.Drills.Passed), last, lastStatus, due, strconv.FormatBool(r.Review.Overdue)})
	}
	if err := cw.WriteAll(rows); err != nil {
		return fmt.Errorf("write continuity csv: %w", err)
	}
	return nil
}
