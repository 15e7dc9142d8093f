package api

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/pagerd/pagerd/incident"
	"github.com/pagerd/pagerd/reports"
)

// DefaultReportWindow is the window of a report without from.
const DefaultReportWindow = 30 * 24 * time.Hour

// responseReport answers GET /v1/reports/response?from=&to=&group_by=&format=
// from this node's applied state: the fields a report needs are copied
// under the read lock, the report is computed outside it.
func (s *Server) responseReport(w http.ResponseWriter, r *http.Request) {
	q, format, err := ParseReportQuery(r.URL.Query(), s.now())
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	rep := reports.Build(q, ReportRecords(s.node.FSM().ReadIncidents, q))
	if format == "csv" {
		var buf bytes.Buffer
		if err := reports.WriteCSV(&buf, rep); err != nil {
			writeError(w, http.StatusInternalServerError, err.Error())
			return
		}
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Write(buf.Bytes())
		return
	}
	writeJSON(w, http.StatusOK, rep)
}

// ReportRecords copies the report fields of the incidents created in q's
// window, holding the state's read lock only while copying.
func ReportRecords(read func(func(*incident.State)), q reports.Query) []reports.Record {
	var out []reports.Record
	read(func(st *incident.State) {
		st.EachCreatedIn(q.From, q.To, func(inc *incident.Incident) { out = append(out, reports.Of(inc)) })
	})
	return out
}

// ParseReportQuery reads from, to (RFC 3339 or YYYY-MM-DD, UTC midnight),
// group_by (default service) and format (json or csv). to defaults to now
// and from to DefaultReportWindow before to. Errors name the field.
func ParseReportQuery(v url.Values, now time.Time) (reports.Query, string, error) {
	q := reports.Query{To: now, By: v.Get("group_by")}
	if q.By == "" {
		q.By = reports.ByService
	}
	var err error
	if s := v.Get("to"); s != "" {
		if q.To, err = parseReportTime(s); err != nil {
			return q, "", fmt.Errorf("to: %v", err)
		}
	}
	q.From = q.To.Add(-DefaultReportWindow)
	if s := v.Get("from"); s != "" {
		if q.From, err = parseReportTime(s); err != nil {
			return q, "", fmt.Errorf("from: %v", err)
		}
	}
	if err := q.Check(); err != nil {
		return q, "", err
	}
	format := v.Get("format")
	switch format {
	case "":
		format = "json"
	case "json", "csv":
	default:
		return q, "", fmt.Errorf("format: must be json or csv, not %q", format)
	}
	return q, format, nil
}

func parseReportTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q is not an RFC 3339 time or a YYYY-MM-DD date", s)
}
