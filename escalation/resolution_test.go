package escalation

import (
	"strings"
	"testing"
	"time"

	"github.com/pagerd/pagerd/incident"
)

func pageCount(s *incident.Summary) int {
	n := 0
	for _, c := range s.Pages {
		n += c.Sent + c.Failed + c.Cancelled + c.Queued
	}
	return n
}

// TestResolveMailsTheSummaryOncePerPagedPerson: a resolve mails the summary
// to each person paged (not to webhooks), with the duration and page counts
// as of the resolve. A leader lost after sending but before recording it
// leads to one resend (spec §4: only what was in flight), the other mail is
// not skipped, and a later term sends nothing again.
func TestResolveMailsTheSummaryOncePerPagedPerson(t *testing.T) {
	h := newHarness(t, "public_url: https://pager.example.com\n")
	id := h.trigger("web", "db-down")
	h.runUntil(11 * time.Minute)
	h.expectSent("0s sms alice step0 loop0 INC-1", "2m0s email alice step0 loop0 INC-1",
		"10m0s email bob step1 loop0 INC-1", "10m0s webhook chat step1 loop0 INC-1")
	h.act(id, incident.Resolve)
	h.endTermOnCommitFailure() // alice's summary goes out, its outcome never commits
	h.settle()
	h.expectSent("11m0s email alice resolution INC-1 duration 660s pages 4")

	h.newTerm()
	h.settle()
	h.expectSent("11m0s email alice resolution INC-1 duration 660s pages 4",
		"11m0s email bob resolution INC-1 duration 660s pages 4")
	h.timelineHas(id, incident.EntrySummarySent, "resolution summary mailed to alice")
	h.timelineHas(id, incident.EntrySummarySent, "resolution summary mailed to bob")

	h.newTerm()
	h.runUntil(time.Hour)
	h.expectSent()
	for _, n := range h.incident(id).Notifications {
		if n.Kind == incident.KindSummary && (n.Status != incident.NotifySent || n.Attempts != 1) {
			t.Fatalf("summary mail %+v, want sent with one recorded attempt", n)
		}
	}
}

// TestResolutionMailLinksTheConsole: the mail's summary carries the
// console link built from public_url.
func TestResolutionMailLinksTheConsole(t *testing.T) {
	h := newHarness(t, "public_url: https://pager.example.com/\n")
	id := h.trigger("web", "db-down")
	h.settle()
	h.act(id, incident.Resolve)
	var got *incident.Summary
	h.rec.mu.Lock()
	h.rec.sent = nil
	h.rec.mu.Unlock()
	h.settle()
	for _, s := range h.rec.sent {
		if s.resolution != nil {
			got = s.resolution
		}
	}
	if got == nil || got.URL != "https://pager.example.com/ui/incidents/INC-1" || !strings.Contains(got.Text(), got.URL) {
		t.Fatalf("resolution summary %+v lacks the console link", got)
	}
}

// TestResolutionMailNamesTheResponders: the engine reads incidents without
// their timeline, but the summary mail's responders come from it; rendered
// from the timeless copy, the mail said "Responders: none" although alice
// acknowledged and resolved (e2e TestResolveMailsSummaryToEveryPagedPerson).
func TestResolutionMailNamesTheResponders(t *testing.T) {
	h := newHarness(t, "")
	id := h.trigger("web", "db-down")
	h.settle()
	h.act(id, incident.Ack)
	h.act(id, incident.Resolve)
	h.rec.mu.Lock()
	h.rec.sent = nil
	h.rec.mu.Unlock()
	h.settle()
	var got *incident.Summary
	h.rec.mu.Lock()
	for _, s := range h.rec.sent {
		if s.resolution != nil {
			got = s.resolution
		}
	}
	h.rec.mu.Unlock()
	if got == nil {
		t.Fatal("no resolution summary mailed")
	}
	if strings.Join(got.Responders, ",") != "alice" || !strings.Contains(got.Text(), "Responders:   alice\n") {
		t.Fatalf("summary responders %q, want alice (who acknowledged and resolved):\n%s", got.Responders, got.Text())
	}
}
