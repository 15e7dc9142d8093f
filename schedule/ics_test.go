package schedule

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// pyParse reads an .ics file with Debian's python3-icalendar (an independent
// RFC 5545 implementation) and prints its events as JSON.
const pyParse = `
import sys, json, datetime
import icalendar
cal = icalendar.Calendar.from_ical(open(sys.argv[1], 'rb').read())
out = {"name": str(cal.get('X-WR-CALNAME')), "version": str(cal.get('VERSION')), "prodid": str(cal.get('PRODID')), "events": []}
for ev in cal.walk('VEVENT'):
    s, e = ev.decoded('DTSTART'), ev.decoded('DTEND')
    out["events"].append({
        "uid": str(ev.get('UID')), "summary": str(ev.get('SUMMARY')),
        "start": s.astimezone(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ'),
        "end": e.astimezone(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ'),
        "utc": s.tzinfo is not None and s.utcoffset() == datetime.timedelta(0),
    })
print(json.dumps(out))
`

type pyEvent struct {
	UID, Summary, Start, End string
	UTC                      bool
}

func TestICSParsedByPythonICalendar(t *testing.T) {
	const py = "/usr/bin/python3"
	if out, err := exec.Command(py, "-c", "import icalendar").CombinedOutput(); err != nil {
		t.Fatalf("%s cannot import icalendar (%v: %s); run: apt-get install python3-icalendar", py, err, out)
	}
	s := mustCompile(t, layeredConfig(t))
	from, to := utc(t, "2026-06-01T00:00:00Z"), utc(t, "2026-06-15T00:00:00Z")
	shifts, err := s.Shifts("web", from, to)
	if err != nil {
		t.Fatal(err)
	}
	// A name needing escaping and a long summary exercise escaping and folding.
	name := "web, team; ops \\ Ünïcødé-name-that-is-long-enough-to-fold-the-line"
	ics := ICS(name, shifts, utc(t, "2026-05-31T12:00:00Z"))
	checkWireFormat(t, ics)
	path := filepath.Join(t.TempDir(), "web.ics")
	if err := os.WriteFile(path, ics, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(py, "-c", pyParse, path).Output()
	if err != nil {
		t.Fatalf("python icalendar failed: %v\n%s", err, ics)
	}
	var cal struct {
		Name, Version, Prodid string
		Events                []pyEvent
	}
	if err := json.Unmarshal(out, &cal); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if cal.Version != "2.0" || cal.Name != "pagerd: "+name || cal.Prodid == "" {
		t.Errorf("calendar header: %+v", cal)
	}
	if len(cal.Events) != len(shifts) {
		t.Fatalf("%d events, %d shifts", len(cal.Events), len(shifts))
	}
	uids := map[string]bool{}
	for i, ev := range cal.Events {
		sh := shifts[i]
		want := pyEvent{shiftUID(name, sh) + "@pagerd", "On call: " + sh.User + " (" + name + ")",
			sh.Start.Format(time.RFC3339), sh.End.Format(time.RFC3339), true}
		if ev != want {
			t.Errorf("event %d: %+v want %+v", i, ev, want)
		}
		uids[ev.UID] = true
	}
	if len(uids) != len(shifts) {
		t.Errorf("UIDs not unique")
	}
}

// checkWireFormat checks CRLF endings and the 75-octet limit.
func checkWireFormat(t *testing.T, ics []byte) {
	t.Helper()
	if !bytes.HasSuffix(ics, []byte("END:VCALENDAR\r\n")) {
		t.Error("missing CRLF-terminated END:VCALENDAR")
	}
	for _, l := range strings.Split(strings.TrimSuffix(string(ics), "\r\n"), "\r\n") {
		if len(l) > 75 || strings.ContainsAny(l, "\r\n") {
			t.Errorf("bad content line %q (%d octets)", l, len(l))
		}
	}
	if !bytes.Contains(ics, []byte("\r\n ")) {
		t.Error("expected at least one folded line")
	}
}

func TestICSStableUIDAndEscaping(t *testing.T) {
	sh := Shift{User: "alice", Start: utc(t, "2026-06-01T00:00:00Z"), End: utc(t, "2026-06-02T00:00:00Z")}
	a := ICS("web", []Shift{sh}, utc(t, "2026-01-01T00:00:00Z"))
	b := ICS("web", []Shift{sh}, utc(t, "2027-01-01T00:00:00Z"))
	uid := func(x []byte) string {
		for _, l := range strings.Split(string(x), "\r\n") {
			if strings.HasPrefix(l, "UID:") {
				return l
			}
		}
		return ""
	}
	if uid(a) == "" || uid(a) != uid(b) {
		t.Errorf("UID not stable: %q %q", uid(a), uid(b))
	}
	if got := escapeText("a,b;c\\d\ne"); got != `a\,b\;c\\d\ne` {
		t.Errorf("escape: %s", got)
	}
	for _, want := range []string{"DTSTART:20260601T000000Z", "DTEND:20260602T000000Z", "SUMMARY:On call: alice (web)", "DTSTAMP:20260101T000000Z"} {
		if !bytes.Contains(a, []byte(want+"\r\n")) {
			t.Errorf("missing %s", want)
		}
	}
}
