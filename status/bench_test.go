package status

import (
	"fmt"
	"testing"
	"time"

	"github.com/pagerd/pagerd/incident"
)

// benchIncidents: 20 incidents with 5 public updates each (a bad day).
func benchIncidents() []*incident.Incident {
	var incs []*incident.Incident
	for i := 1; i <= 20; i++ {
		inc := &incident.Incident{ID: uint64(i), Key: fmt.Sprintf("INC-%d", i), Service: "checkout", CreatedAt: t0}
		for j := 1; j <= 5; j++ {
			inc.Updates = append(inc.Updates, upd(fmt.Sprintf("INC-%d-U%d", i, j), t0.Add(time.Duration(j)*time.Minute), "public",
				"We are looking into elevated error rates on checkout and will update within 30 minutes.", map[string]string{"api": "partial_outage"}))
		}
		if i%2 == 0 {
			at := t0.Add(time.Hour)
			inc.ResolvedAt = &at
		}
		incs = append(incs, inc)
	}
	return incs
}

// BenchmarkRenderHTML is the cost of a cache miss for GET /status/{page}.
func BenchmarkRenderHTML(b *testing.B) {
	incs, p := benchIncidents(), testPage()
	for b.Loop() {
		if _, err := renderHTML(Build(p, incs, nil, t0.Add(2*time.Hour)), p.History.D(), true); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRenderJSON is the cost of a cache miss for summary.json.
func BenchmarkRenderJSON(b *testing.B) {
	incs, p := benchIncidents(), testPage()
	for b.Loop() {
		if _, err := renderJSON(Build(p, incs, nil, t0.Add(2*time.Hour))); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRenderAtom is the cost of a cache miss for feed.atom.
func BenchmarkRenderAtom(b *testing.B) {
	incs, p := benchIncidents(), testPage()
	for b.Loop() {
		if _, err := renderAtom(Build(p, incs, nil, t0.Add(2*time.Hour)), "http://x/status/public"); err != nil {
			b.Fatal(err)
		}
	}
}
