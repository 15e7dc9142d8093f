package web

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/pagerd/pagerd/incident"
)

// heldIncidents is how many incidents the page benchmark holds.
const heldIncidents = 10_000

// pageBudget is the most a page may take, server side, on average.
const pageBudget = 50 * time.Millisecond

// BenchmarkConsolePages renders every console page with 10,000 incidents
// held (a third acknowledged, a third resolved), timing the server side
// only (the handler into a recorder). The budget is 50 ms a page; the
// figures are in docs/PERFORMANCE.md.
//
//	go test ./web -run '^$' -bench ConsolePages -benchtime 20x
func BenchmarkConsolePages(b *testing.B) {
	cs := startConsole(b, false)
	fill(b, cs, heldIncidents)
	con := New(Options{Node: cs.node.Node, Mailer: nil})
	cookie := sessionCookieFor(b, con)
	for _, p := range []string{"/ui/incidents", "/ui/incidents?status=all", "/ui/incidents?status=all&severity=sev3&service=checkout",
		"/ui/incidents/rows?status=open", "/ui/incidents/INC-5000", "/ui/oncall", "/ui/schedules/web?view=month", "/ui/services", "/ui/reports", "/ui/reports?group_by=severity", "/ui/cluster",
		"/ui/followups", "/ui/followups?status=all&owner=bob", "/ui/maintenance"} {
		b.Run(p, func(b *testing.B) {
			var worst, total time.Duration
			runs := 0
			for b.Loop() {
				start := time.Now()
				rec := httptest.NewRecorder()
				req := httptest.NewRequest("GET", p, nil)
				req.AddCookie(cookie)
				con.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("%s: %d", p, rec.Code)
				}
				took := time.Since(start)
				worst, total, runs = max(worst, took), total+took, runs+1
			}
			b.ReportMetric(float64(worst.Microseconds())/1000, "worst-ms")
			if mean := total / time.Duration(runs); mean > pageBudget {
				b.Errorf("%s renders in %v on average, over the %v budget", p, mean, pageBudget)
			}
		})
	}
}

// fill commits n incidents through the real Raft path, many at a time so
// group commit packs them.
func fill(b *testing.B, cs *console, n int) {
	b.Helper()
	ctx := context.Background()
	var wg sync.WaitGroup
	ids := make(chan int)
	errs := make(chan error, 1)
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range ids {
				sev := []string{"sev1", "sev2", "sev3"}[i%3]
				r, err := cs.node.SubmitEvent(ctx, &incident.Event{Integration: "events", Service: "checkout", Action: incident.ActionTrigger,
					DedupKey: fmt.Sprintf("k%d", i), Alert: incident.Alert{Severity: sev,
						Labels:      map[string]string{"alertname": "HighLatency", "instance": fmt.Sprintf("web-%d", i)},
						Annotations: map[string]string{"summary": fmt.Sprintf("p99 latency above 1s on web-%d", i)}}})
				if err == nil && i%3 > 0 {
					kind := []string{"", incident.Ack, incident.Resolve}[i%3]
					_, err = cs.node.SubmitAction(ctx, &incident.Action{Incident: r.Incident, Kind: kind, By: "alice", Channel: "api"})
				}
				if err != nil {
					select {
					case errs <- err:
					default:
					}
				}
			}
		}()
	}
	for i := range n {
		ids <- i
	}
	close(ids)
	wg.Wait()
	select {
	case err := <-errs:
		b.Fatalf("fill: %v", err)
	default:
	}
	var held int
	cs.node.FSM().ReadIncidents(func(st *incident.State) { held = st.Len() })
	if held != n {
		b.Fatalf("%d incidents held, want %d", held, n)
	}
}

func sessionCookieFor(b *testing.B, con *Console) *http.Cookie {
	b.Helper()
	val, _, err := con.newSession("alice", kindUser)
	if err != nil {
		b.Fatal(err)
	}
	return &http.Cookie{Name: sessionCookie, Value: val}
}
