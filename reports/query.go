package reports

import (
	"fmt"
	"net/url"
	"time"

	"github.com/pagerd/pagerd/incident"
	"github.com/pagerd/pagerd/internal/jsonenc"
)

// DefaultWindow is the window of a report without from.
const DefaultWindow = 30 * 24 * time.Hour

// Collect copies the report fields of the incidents created in q's
// window, holding the state's read lock only while copying.
func Collect(read func(func(*incident.State)), q Query) []Record {
	var out []Record
	read(func(st *incident.State) {
		st.EachCreatedIn(q.From, q.To, func(inc *incident.Incident) { out = append(out, Of(inc)) })
	})
	return out
}

// ParseQuery reads from, to (RFC 3339 or YYYY-MM-DD, UTC midnight),
// group_by (default service) and format (json or csv). to defaults to now
// and from to DefaultWindow before to. Errors name the field.
func ParseQuery(v url.Values, now time.Time) (Query, string, error) {
	q := Query{To: now, By: v.Get("group_by")}
	if q.By == "" {
		q.By = ByService
	}
	var err error
	if s := v.Get("to"); s != "" {
		if q.To, err = parseReportTime(s); err != nil {
			return q, "", fmt.Errorf("to: %v", err)
		}
	}
	q.From = q.To.Add(-DefaultWindow)
	if s := v.Get("from"); s != "" {
		if q.From, err = parseReportTime(s); err != nil {
			return q, "", fmt.Errorf("from: %v", err)
		}
	}
	for _, f := range []struct {
		name string
		t    time.Time
	}{{"to", q.To}, {"from", q.From}} {
		// A time that parses can fall outside once in UTC
		// ("0000-01-01T00:00:00+01:00"), and from defaults to 30 days
		// before to: the report could then not be written as JSON.
		if !jsonenc.StorableTime(f.t) {
			return q, "", fmt.Errorf("%s: %s %s", f.name, f.t.UTC().Format(time.RFC3339), jsonenc.OutsideStorableYears)
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
