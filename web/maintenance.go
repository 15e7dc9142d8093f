package web

import (
	"net/http"
	"time"

	"github.com/pagerd/pagerd/config"
)

// maintenanceAhead is how far ahead the maintenance page looks.
const maintenanceAhead = 14 * 24 * time.Hour

type maintenanceRow struct {
	config.MaintenanceWindow
	Active bool
}

// maintenancePage lists the windows on now and those starting within two
// weeks, from config and ad hoc, soonest first.
func (c *Console) maintenancePage(w http.ResponseWriter, r *http.Request, v *viewer) {
	now := c.now()
	var rows []maintenanceRow
	for _, win := range c.node.FSM().MaintenanceWindows(now, maintenanceAhead) {
		rows = append(rows, maintenanceRow{MaintenanceWindow: win, Active: !now.Before(win.From)})
	}
	c.render(w, r, http.StatusOK, "maintenance", "layout", pageData{Title: "Maintenance", Nav: "maintenance", V: v, Data: rows})
}
