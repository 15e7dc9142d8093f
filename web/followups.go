package web

import (
	"net/http"
	"slices"
	"sort"
	"time"

	"github.com/pagerd/pagerd/learning"
)

// followupsData is the follow-ups page: overdue first, then by due time.
type followupsData struct {
	Items         []followupRow
	Owner, Status string
	Users         []string
}

type followupRow struct {
	learning.Followup
	Overdue bool
}

var followupStatuses = []string{"open", "done", "wont_do", "all"}

func (c *Console) followupsPage(w http.ResponseWriter, r *http.Request, v *viewer) {
	awaitApplied(r.Context(), c.node.FSM(), r.URL.Query().Get("at"))
	q := r.URL.Query()
	d := followupsData{Owner: q.Get("owner"), Status: q.Get("status")}
	if d.Status == "" {
		d.Status = learning.FollowupOpen
	}
	if !slices.Contains(followupStatuses, d.Status) {
		c.errorPage(w, r, v, http.StatusBadRequest, "status: want open, done, wont_do or all.")
		return
	}
	for _, u := range c.config().Users {
		d.Users = append(d.Users, u.ID)
	}
	now := c.now()
	var items []learning.Followup
	c.node.FSM().ReadLearning(func(st *learning.State) {
		items = st.ListFollowups(learning.Filter{Status: d.Status, Owner: d.Owner, Now: now})
	})
	d.Items = sortFollowups(items, now)
	c.render(w, r, http.StatusOK, "followups", "layout", pageData{Title: "Follow-ups", Nav: "followups", V: v, Data: d})
}

// sortFollowups puts overdue ones first, then the soonest due.
func sortFollowups(items []learning.Followup, now time.Time) []followupRow {
	rows := make([]followupRow, len(items))
	for i := range items {
		rows[i] = followupRow{Followup: items[i], Overdue: items[i].Overdue(now)}
	}
	sort.SliceStable(rows, func(i, j int) bool {
		if rows[i].Overdue != rows[j].Overdue {
			return rows[i].Overdue
		}
		return rows[i].Due.Before(rows[j].Due)
	})
	return rows
}
