package api

import (
	"strconv"
	"strings"
	"testing"
)

// FuzzParseListQuery: GET /v1/incidents' status, limit and cursor are
// outside input. An accepted query is within its bounds and its cursor is
// the `next` value a page gives out; a refused one names its field.
func FuzzParseListQuery(f *testing.F) {
	for _, c := range [][3]string{{"", "", ""}, {"open", "100", ""}, {"all", "1000", "42"}, {"resolved", "1", "18446744073709551615"},
		{"acknowledged", "0", ""}, {"bogus", "", ""}, {"triggered", "1001", "0"}, {"all", "+5", "-1"}, {"all", "", "0x10"}} {
		f.Add(c[0], c[1], c[2])
	}
	f.Fuzz(func(t *testing.T, status, limit, cursor string) {
		f, before, n, err := parseListQuery(status, limit, cursor)
		if err != nil {
			if msg := err.Error(); !strings.HasPrefix(msg, "status:") && !strings.HasPrefix(msg, "limit:") && !strings.HasPrefix(msg, "cursor:") {
				t.Fatalf("error names no field: %v", err)
			}
			return
		}
		if n < 1 || n > maxLimit {
			t.Fatalf("limit %q accepted as %d", limit, n)
		}
		if cursor != "" && (before == 0 || strconv.FormatUint(before, 10) != strings.TrimLeft(cursor, "0")) {
			t.Fatalf("cursor %q accepted as %d, which no page gives out", cursor, before)
		}
		if status != "all" && len(f.Statuses) == 0 {
			t.Fatalf("status %q filters nothing", status)
		}
	})
}

// FuzzParseIncidentID: an incident id in a path or a query is outside
// input. An accepted one is nonzero, and both spellings of it parse back
// to it; a refused one names the field.
func FuzzParseIncidentID(f *testing.F) {
	for _, s := range []string{"42", "INC-42", "inc-7", "INC-", "0", "INC-0", "-1", "+3", "INC--4", "18446744073709551616", "INC-18446744073709551615"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := ParseIncidentID(s)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "incident id:") {
				t.Fatalf("error names no field: %v", err)
			}
			return
		}
		if id == 0 {
			t.Fatalf("%q accepted as 0", s)
		}
		for _, again := range []string{strconv.FormatUint(id, 10), "INC-" + strconv.FormatUint(id, 10)} {
			if back, err := ParseIncidentID(again); err != nil || back != id {
				t.Fatalf("%q → %d, but %q → %d, %v", s, id, again, back, err)
			}
		}
	})
}
