package api

import (
	"bytes"
	"net/http"

	"github.com/pagerd/pagerd/reports"
)

// responseReport answers GET /v1/reports/response?from=&to=&group_by=&format=
// from this node's applied state: the fields a report needs are copied
// under the read lock, the report is computed outside it.
func (s *Server) responseReport(w http.ResponseWriter, r *http.Request) {
	q, format, err := reports.ParseQuery(r.URL.Query(), s.now())
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	rep := reports.Build(q, reports.Collect(s.node.FSM().ReadIncidents, q))
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
