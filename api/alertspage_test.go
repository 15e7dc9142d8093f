package api

import (
	"strconv"
	"testing"

	"github.com/pagerd/pagerd/incident"
)

func alertsOf(n int) []incident.Alert {
	out := make([]incident.Alert, n)
	for i := range out {
		out[i].Fingerprint = strconv.Itoa(i)
	}
	return out
}

func TestAlertsPageWalksEveryAlertOnce(t *testing.T) {
	for _, total := range []int{0, 1, 399, 400, 401, 1000} {
		alerts := alertsOf(total)
		var seen []string
		cursor := ""
		for pages := 0; ; pages++ {
			if pages > total+1 {
				t.Fatalf("%d alerts: paging does not end", total)
			}
			p, err := parseAlertsPage("400", cursor)
			if err != nil {
				t.Fatalf("%d alerts, cursor %q: %v", total, cursor, err)
			}
			got, next := p.cut(alerts)
			for _, a := range got {
				seen = append(seen, a.Fingerprint)
			}
			if next == "" {
				break
			}
			cursor = next
		}
		if len(seen) != total {
			t.Fatalf("%d alerts: paged %d", total, len(seen))
		}
		for i, fp := range seen {
			if fp != strconv.Itoa(i) {
				t.Fatalf("%d alerts: position %d is %s", total, i, fp)
			}
		}
	}
}

func TestAlertsPageRefusesBadValues(t *testing.T) {
	for _, c := range []struct{ limit, cursor, field string }{
		{"0", "", "alerts_limit"}, {"1001", "", "alerts_limit"}, {"x", "", "alerts_limit"},
		{"10", "0", "alerts_cursor"}, {"10", "-1", "alerts_cursor"}, {"10", "1000", "alerts_cursor"},
		{"", "5", "alerts_cursor"},
	} {
		_, err := parseAlertsPage(c.limit, c.cursor)
		if err == nil || err.Error()[:len(c.field)] != c.field {
			t.Errorf("limit %q cursor %q: %v, want an error naming %s", c.limit, c.cursor, err, c.field)
		}
	}
	if p, err := parseAlertsPage("", ""); err != nil || p.limit != 0 {
		t.Errorf("no paging asked: %+v %v", p, err)
	}
}

// FuzzAlertsPage: any query values are refused with a message or give a
// page within the alerts, never a panic.
func FuzzAlertsPage(f *testing.F) {
	f.Add("400", "", 1000)
	f.Add("1", "999", 3)
	f.Add("-5", "x", 0)
	f.Fuzz(func(t *testing.T, limit, cursor string, n int) {
		n = ((n % 1001) + 1001) % 1001
		p, err := parseAlertsPage(limit, cursor)
		if err != nil || p.limit == 0 {
			return // refused, or no paging asked: the handler then sends every alert
		}
		got, next := p.cut(alertsOf(n))
		if len(got) > max(p.limit, 0) && p.limit > 0 {
			t.Fatalf("page of %d for limit %d", len(got), p.limit)
		}
		if next != "" {
			if c, err := strconv.Atoi(next); err != nil || c <= p.from || c >= n {
				t.Fatalf("next %q from %d of %d", next, p.from, n)
			}
		}
	})
}
