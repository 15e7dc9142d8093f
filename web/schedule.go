package web

import (
	"errors"
	"net/http"
	"time"

	"github.com/pagerd/pagerd/cluster"
	"github.com/pagerd/pagerd/schedule"
)

// scheduleData is one schedule's week or month, one box per day in the
// viewer's zone, with shifts and the gaps between them.
type scheduleData struct {
	ID       string
	Zone     string
	View     string // week | month
	From, To time.Time
	Prev     string
	Next     string
	Days     []dayView
	Gaps     int
	// Overrides are the runtime overrides of this schedule (pagerd
	// override), already part of the shifts shown.
	Overrides []cluster.RuntimeOverride
}

type dayView struct {
	Date  time.Time
	Items []slot
}

// slot is a shift or a gap within one day.
type slot struct {
	User       string // empty: a gap
	Start, End time.Time
	// From and To label the part within one day in the viewer's zone
	// ("24:00" for a slot that runs to midnight).
	From, To string
}

func (c *Console) schedulePage(w http.ResponseWriter, r *http.Request, v *viewer) {
	set, err := c.schedules()
	if err != nil {
		c.errorPage(w, r, v, http.StatusInternalServerError, "The schedules do not compile: "+err.Error())
		return
	}
	id := r.PathValue("id")
	k := c.clockFor(r)
	d := scheduleData{ID: id, View: "week"}
	if r.URL.Query().Get("view") == "month" {
		d.View = "month"
	}
	start := startOfDay(k.Now.In(k.Loc))
	if t, err := time.ParseInLocation("2006-01-02", r.URL.Query().Get("from"), k.Loc); err == nil {
		start = t
	}
	days := 7
	if d.View == "month" {
		days = 31
	}
	d.From, d.To = start, start.AddDate(0, 0, days)
	d.Prev = start.AddDate(0, 0, -days).Format("2006-01-02")
	d.Next = d.To.Format("2006-01-02")
	d.Zone, err = set.Zone(id)
	if errors.Is(err, schedule.ErrUnknown) {
		c.errorPage(w, r, v, http.StatusNotFound, "No schedule or rotation "+id+".")
		return
	}
	shifts, err := set.Shifts(id, d.From.UTC(), d.To.UTC())
	if err != nil {
		c.errorPage(w, r, v, http.StatusBadRequest, err.Error())
		return
	}
	d.Days, d.Gaps = layoutDays(shifts, d.From, days)
	d.Overrides = c.node.FSM().Overrides(id)
	c.render(w, r, http.StatusOK, "schedule", "layout", pageData{Title: "Schedule " + id, Nav: "oncall", V: v, Data: d})
}

func startOfDay(t time.Time) time.Time {
	y, m, dd := t.Date()
	return time.Date(y, m, dd, 0, 0, 0, 0, t.Location())
}

// layoutDays cuts shifts and the gaps between them into days starting at
// from (midnight in the viewer's zone).
func layoutDays(shifts []schedule.Shift, from time.Time, days int) ([]dayView, int) {
	to := from.AddDate(0, 0, days)
	slots := withGaps(shifts, from, to)
	gaps := 0
	for _, s := range slots {
		if s.User == "" {
			gaps++
		}
	}
	out := make([]dayView, days)
	for i := range out {
		ds, de := from.AddDate(0, 0, i), from.AddDate(0, 0, i+1)
		out[i].Date = ds
		for _, s := range slots {
			if s.End.After(ds) && s.Start.Before(de) {
				part := slot{User: s.User, Start: later(s.Start, ds), End: earlier(s.End, de)}
				part.From, part.To = part.Start.In(from.Location()).Format("15:04"), part.End.In(from.Location()).Format("15:04")
				if part.End.Equal(de) {
					part.To = "24:00"
				}
				out[i].Items = append(out[i].Items, part)
			}
		}
	}
	return out, gaps
}

// withGaps adds a gap slot wherever nobody is on call in [from, to).
func withGaps(shifts []schedule.Shift, from, to time.Time) []slot {
	var out []slot
	covered := from
	for _, s := range shifts {
		if s.Start.After(covered) {
			out = append(out, slot{Start: covered, End: s.Start})
		}
		out = append(out, slot{User: s.User, Start: s.Start, End: s.End})
		if s.End.After(covered) {
			covered = s.End
		}
	}
	if to.After(covered) {
		out = append(out, slot{Start: covered, End: to})
	}
	return out
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
