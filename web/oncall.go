package web

import (
	"net/http"
	"time"

	"github.com/pagerd/pagerd/schedule"
)

// schedules are the active config's schedules with the runtime overrides
// on top, as every other reader sees them.
func (c *Console) schedules() (*schedule.Set, error) {
	set, _, err := c.node.FSM().Schedules()
	return set, err
}

// onCallRow is one schedule's now and next.
type onCallRow struct {
	ID       string
	Rotation bool
	Zone     string
	Now      []string
	NowUntil time.Time
	Next     *schedule.Shift
}

// lookahead bounds the search for the next shift.
const lookahead = 30 * 24 * time.Hour

func (c *Console) oncallPage(w http.ResponseWriter, r *http.Request, v *viewer) {
	set, err := c.schedules()
	if err != nil {
		c.errorPage(w, r, v, http.StatusInternalServerError, "The schedules do not compile: "+err.Error())
		return
	}
	now := c.now().UTC()
	var rows []onCallRow
	for _, id := range set.IDs() {
		rows = append(rows, onCallNext(set, id, now))
	}
	c.render(w, r, http.StatusOK, "oncall", "layout", pageData{Title: "On call", Nav: "oncall", V: v, Data: rows})
}

// onCallNext is who is on call at now, until when, and the next shift
// that starts after now.
func onCallNext(set *schedule.Set, id string, now time.Time) onCallRow {
	row := onCallRow{ID: id, Rotation: !set.IsSchedule(id)}
	row.Zone, _ = set.Zone(id)
	row.Now, _ = set.OnCall(id, now)
	shifts, _ := set.Shifts(id, now, now.Add(lookahead))
	for i := range shifts {
		s := shifts[i]
		if !s.Start.After(now) {
			if s.End.After(row.NowUntil) {
				row.NowUntil = s.End
			}
			continue
		}
		if row.Next == nil {
			row.Next = &s
		}
	}
	return row
}
