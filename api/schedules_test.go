package api_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pagerd/pagerd/internal/nodetest"
)

// TestOnCallWallClockInScheduleZone: `at` may be a wall-clock time, read in
// the schedule's zone. 08:30 on Monday 2026-11-09 in Amsterdam is still
// alice's (the handover is at 09:00 local); read as UTC it would be bob's.
func TestOnCallWallClockInScheduleZone(t *testing.T) {
	n := startNode(t)
	var one struct {
		At       time.Time `json:"at"`
		Timezone string    `json:"timezone"`
		Users    []string  `json:"users"`
	}
	for at, want := range map[string]string{"2026-11-09 08:30": "alice", "2026-11-09T09:30": "bob", "2026-11-09T08:30:00Z": "bob"} {
		if code := get(t, n, "/v1/schedules/web/oncall?at="+url.QueryEscape(at), &one); code != http.StatusOK ||
			strings.Join(one.Users, ",") != want || one.Timezone != "Europe/Amsterdam" {
			t.Errorf("web at %q: %d %+v, want %s in Europe/Amsterdam", at, code, one, want)
		}
	}
	get(t, n, "/v1/schedules/web/oncall?at="+url.QueryEscape("2026-11-09 08:30"), &one)
	if want := time.Date(2026, 11, 9, 7, 30, 0, 0, time.UTC); !one.At.Equal(want) {
		t.Errorf("at %v, want %v", one.At, want)
	}
	var all struct {
		OnCall []struct {
			Schedule, Timezone string
			At                 time.Time
			Users              []string
		} `json:"oncall"`
	}
	get(t, n, "/v1/oncall?at="+url.QueryEscape("2026-11-09 08:30"), &all)
	if len(all.OnCall) != 2 || all.OnCall[0].Users[0] != "alice" || all.OnCall[0].Timezone != "Europe/Amsterdam" {
		t.Errorf("/v1/oncall: %+v", all.OnCall)
	}
	code, body, _ := call(t, n, http.MethodGet, "/v1/schedules/web/oncall?at=tomorrow", "", nodetest.Token)
	if code != http.StatusBadRequest || !strings.HasPrefix(errorOf(body), "at: ") {
		t.Errorf("bad at: %d %s", code, body)
	}
	var shifts []struct{ User, Start, End string }
	if code := get(t, n, "/v1/schedules/web/shifts?from="+url.QueryEscape("2026-11-09 00:00")+"&to="+url.QueryEscape("2026-11-10 00:00"), &shifts); code != 200 ||
		len(shifts) != 2 || shifts[0].Start != "2026-11-08T23:00:00Z" || shifts[1].Start != "2026-11-09T08:00:00Z" {
		t.Errorf("shifts in wall-clock window: %d %+v", code, shifts)
	}
}

// TestCalendarEventsStableAcrossFetches: the feed's window moves with the
// request time, but an event it keeps must keep its UID and times, or a
// subscribed calendar deletes and re-adds it. The old feed clamped the first
// and last events to the window.
func TestCalendarEventsStableAcrossFetches(t *testing.T) {
	var now atomic.Int64
	now.Store(time.Date(2026, 12, 2, 10, 17, 3, 0, time.UTC).Unix())
	n := nodetest.Start(t, nodetest.Options{Config: testConfig, Now: func() time.Time { return time.Unix(now.Load(), 0) }})
	fetch := func() map[string]string { // UID → start/end, as python3-icalendar reads them
		code, body, _ := call(t, n, http.MethodGet, "/v1/schedules/web/calendar.ics", "", nodetest.Token)
		if code != http.StatusOK {
			t.Fatalf("calendar: %d %s", code, body)
		}
		return pyEvents(t, body)
	}
	first := fetch()
	now.Add(3600 + 59)
	later := fetch()
	if len(first) == 0 || len(first) != len(later) {
		t.Fatalf("%d and %d events", len(first), len(later))
	}
	var changed []string
	for uid, times := range first {
		if later[uid] != times {
			changed = append(changed, uid+" "+times+"→ "+later[uid])
		}
	}
	sort.Strings(changed)
	if len(changed) > 0 {
		t.Errorf("events changed between fetches an hour apart:\n%s", strings.Join(changed, "\n"))
	}
}

// pyICS reads an iCalendar file with Debian's python3-icalendar (an
// independent RFC 5545 implementation) and prints UID → "start end" in UTC.
const pyICS = `
import sys, json, datetime
import icalendar
cal = icalendar.Calendar.from_ical(open(sys.argv[1], 'rb').read())
utc = lambda d: d.astimezone(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')
print(json.dumps({str(ev.get('UID')): utc(ev.decoded('DTSTART')) + " " + utc(ev.decoded('DTEND')) for ev in cal.walk('VEVENT')}))
`

func pyEvents(t *testing.T, ics string) map[string]string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "feed.ics")
	if err := os.WriteFile(path, []byte(ics), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("/usr/bin/python3", "-c", pyICS, path).Output()
	if err != nil {
		t.Fatalf("python3-icalendar (apt-get install python3-icalendar): %v", err)
	}
	events := map[string]string{}
	if err := json.Unmarshal(out, &events); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	return events
}
