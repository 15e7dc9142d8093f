package web

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pagerd/pagerd/internal/nodetest"
)

func apiPost(t *testing.T, cs *console, path string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, cs.node.URL+path, strings.NewReader(`{}`))
	req.Header.Set("Authorization", "Bearer "+nodetest.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST %s: %d", path, resp.StatusCode)
	}
}

var (
	dotRE = regexp.MustCompile(`<circle class="dot (p50|p90)"`)
	svgRE = regexp.MustCompile(`(?s)<svg id="(chart-tt[ar])".*?</svg>`)
)

// The Reports page shows the response report of the chosen window and, per
// week, p50 and p90 points only for weeks with samples; bad input is a 400
// page naming the field, escaped.
func TestReportsPageTableAndCharts(t *testing.T) {
	t0 := time.Date(2026, 10, 5, 9, 0, 0, 0, time.UTC) // a Monday
	var now atomic.Int64
	now.Store(t0.UnixNano())
	set := func(at time.Time) { now.Store(at.UnixNano()) }
	cs := startConsoleAt(t, false, func() time.Time { return time.Unix(0, now.Load()).UTC() })
	// Weeks 1 and 3 of three have incidents: ack after 1m, 3m and 5m,
	// resolve after 10m, 30m and 50m.
	for i, at := range []time.Time{t0, t0.Add(time.Hour), t0.Add(15 * 24 * time.Hour)} {
		set(at)
		trigger(t, cs, fmt.Sprintf(`"incident %d"`, i+1))
		set(at.Add(time.Duration(2*i+1) * time.Minute))
		apiPost(t, cs, fmt.Sprintf("/v1/incidents/%d/ack", i+1))
		set(at.Add(time.Duration(2*i+1) * 10 * time.Minute))
		apiPost(t, cs, fmt.Sprintf("/v1/incidents/%d/resolve", i+1))
	}
	c := signIn(t, cs, "read-only-secret-token")
	code, body, _ := get(t, c, cs.url+"/ui/reports?from=2026-10-05&to=2026-10-26&group_by=service")
	if code != http.StatusOK {
		t.Fatalf("reports: %d\n%s", code, body)
	}
	row := regexp.MustCompile(`(?s)<tr class="group" data-group="checkout">.*?</tr>`).FindString(body)
	for _, want := range []string{`<td class="count">3</td>`, "<td>3m</td>", "<td>5m</td>", "<td>30m</td>", "<td>50m</td>"} {
		if !strings.Contains(row, want) {
			t.Errorf("checkout row lacks %s:\n%s", want, row)
		}
	}
	charts := svgRE.FindAllStringSubmatch(body, -1)
	if len(charts) != 2 {
		t.Fatalf("want 2 charts, got %d:\n%s", len(charts), body)
	}
	for _, ch := range charts {
		dots := dotRE.FindAllStringSubmatch(ch[0], -1)
		if len(dots) != 4 { // weeks 1 and 3, p50 and p90 each; week 2 is a gap
			t.Errorf("%s: %d points, want 4:\n%s", ch[1], len(dots), ch[0])
		}
	}
	if !strings.Contains(body, `aria-current="page">Reports</a>`) {
		t.Error("the nav does not mark Reports")
	}

	// An empty window renders zeros and empty charts, not an error.
	code, body, _ = get(t, c, cs.url+"/ui/reports?from=2025-01-01&to=2025-02-01")
	if code != http.StatusOK || !strings.Contains(body, "No incidents in this window.") || dotRE.MatchString(body) {
		t.Fatalf("empty window: %d\n%s", code, body)
	}

	// The widest window a date allows renders (no overflow in the buckets).
	if code, body, _ = get(t, c, cs.url+"/ui/reports?from=0001-01-01&to=9999-12-31"); code != http.StatusOK {
		t.Fatalf("widest window: %d\n%s", code, body)
	}

	// Bad input: 400, the field named, the value escaped.
	code, body, _ = get(t, c, cs.url+"/ui/reports?from=%3Cscript%3Ex&group_by=service")
	if code != http.StatusBadRequest || !strings.Contains(body, `from: &#34;&lt;script&gt;x&#34; is not`) || strings.Contains(body, "<script>x") {
		t.Fatalf("bad from: %d\n%s", code, body)
	}
	code, body, _ = get(t, c, cs.url+"/ui/reports?group_by=team")
	if code != http.StatusBadRequest || !strings.Contains(body, "group_by: must be service or severity") {
		t.Fatalf("bad group_by: %d\n%s", code, body)
	}
}
