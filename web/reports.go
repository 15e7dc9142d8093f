package web

import (
	"net/http"
	"time"

	"github.com/pagerd/pagerd/reports"
)

// reportsView is the Reports page: the response report of a window and
// its charts of time to acknowledge and to resolve over time.
type reportsView struct {
	From, To, By string // the form's values, as the viewer gave or defaulted
	Error        string
	Report       reports.Response
	Step         string // "day" or "week" (or a multiple)
	TTA, TTR     chart
}

// chartStep is one bucket per day up to two weeks, else per week, widened
// so a chart has at most maxChartPoints points.
func chartStep(window time.Duration) time.Duration {
	const maxChartPoints = 104
	step := 7 * 24 * time.Hour
	if window <= 14*24*time.Hour {
		step = 24 * time.Hour
	}
	for window/step > maxChartPoints {
		step *= 2
	}
	return step
}

func (c *Console) reportsPage(w http.ResponseWriter, r *http.Request, v *viewer) {
	k := c.clockFor(r)
	vals := r.URL.Query()
	vals.Del("format")
	q, _, err := reports.ParseQuery(vals, c.now())
	d := reportsView{From: vals.Get("from"), To: vals.Get("to"), By: q.By}
	status := http.StatusOK
	if err != nil {
		// The form shows the words naming the bad field; nothing is computed.
		d.Error, status = err.Error(), http.StatusBadRequest
		c.render(w, r, status, "reports", "layout", pageData{Title: "Reports", Nav: "reports", V: v, Data: d})
		return
	}
	if d.From == "" {
		d.From = q.From.Format(time.RFC3339)
	}
	if d.To == "" {
		d.To = q.To.Format(time.RFC3339)
	}
	records := reports.Collect(c.node.FSM().ReadIncidents, q)
	d.Report = reports.Build(q, records)
	step := chartStep(q.To.Sub(q.From))
	d.Step = bucketName(step)
	pts := reports.Series(q, step, records)
	d.TTA = buildChart("chart-tta", "Time to acknowledge", pts, step, k, func(p reports.Point) reports.Stats { return p.TTA })
	d.TTR = buildChart("chart-ttr", "Time to resolve", pts, step, k, func(p reports.Point) reports.Stats { return p.TTR })
	c.render(w, r, status, "reports", "layout", pageData{Title: "Reports", Nav: "reports", V: v, Data: d})
}
