package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pagerd/pagerd/incident"
	"github.com/pagerd/pagerd/internal/testcluster"
	"github.com/pagerd/pagerd/notify/sms/twiliotest"
)

// suStatus is appended to pgConfig: a public page with two components of
// checkout and a template.
const suStatus = `
status_pages:
  - id: public
    title: Example status
    components:
      - {id: api, name: Checkout API, services: [checkout]}
      - {id: web, name: Storefront, services: [checkout]}
update_templates:
  - id: investigating
    phase: investigating
    public: "We're investigating issues with {{.Components}} ({{.Key}}) and will provide updates here soon."
`

func suStart(t *testing.T, twilio string) (*testcluster.Cluster, *testcluster.Node, *pgMailbox) {
	t.Helper()
	box := pgStartSMTP(t)
	c := testcluster.Start(t, 1, testcluster.Options{SMTP: true, Config: fmt.Sprintf(pgConfig, "1h", box.addr, twilio) + suStatus})
	return c, c.Nodes[0], box
}

func suPost(t *testing.T, c *testcluster.Cluster, n *testcluster.Node, id uint64, body string) (int, string) {
	t.Helper()
	code, out := c.Do(n, http.MethodPost, fmt.Sprintf("/v1/incidents/%d/updates", id), []byte(body), nil)
	return code, string(out)
}

// TestStatusUpdatesAPI: updates through the API of a real daemon, the
// refusals that change nothing, a template rendered by the leader, and the
// final public update of a resolve.
func TestStatusUpdatesAPI(t *testing.T) {
	c, n, _ := suStart(t, "http://127.0.0.1:1")
	pgTrigger(t, c, n, "su-1", testcluster.EventsKey) // critical: sev1
	inc := pgIncident(t, c, n, "su-1")

	bad := []struct {
		body string
		code int
		want string
	}{
		{`{"audience":"public","phase":"identified","message":"x","by":"bob"}`, 409, "bob holds neither role"},
		{`{"audience":"public","phase":"identified","message":"x","components":{"db":"major_outage"}}`, 400, `components.db: unknown component \"db\"`},
		{`{"audience":"public","phase":"identified","message":"x","components":{"api":"on_fire"}}`, 400, `components.api: unknown status \"on_fire\"`},
		{`{"phase":"fixing","message":"x"}`, 400, "phase: unknown phase"},
		{`{"audience":"everyone","message":"x"}`, 400, "audience:"},
		{`{"phase":"identified"}`, 400, "message: required"},
		{`{"template":"nope"}`, 400, `template: unknown update template \"nope\"`},
		{`{"message":"x","next_update_in":"soon"}`, 400, "next_update_in:"},
	}
	for _, b := range bad {
		if code, out := suPost(t, c, n, inc.ID, b.body); code != b.code || !strings.Contains(out, b.want) {
			t.Fatalf("%s: %d %s, want %d containing %q", b.body, code, out, b.code, b.want)
		}
	}
	if got := amGetIncident(t, c, n, inc.ID); len(got.Updates) != 0 || got.Phase != "" {
		t.Fatalf("refused updates changed the incident: %+v", got.Updates)
	}

	before := time.Now()
	code, out := suPost(t, c, n, inc.ID, `{"phase":"identified","message":"Bad deploy; rolling back","by":"alice"}`)
	if code != 200 {
		t.Fatalf("internal update: %d %s", code, out)
	}
	code, out = suPost(t, c, n, inc.ID, `{"audience":"public","template":"investigating","components":{"api":"partial_outage"}}`)
	if code != 200 {
		t.Fatalf("public template update: %d %s", code, out)
	}
	var got incident.Incident
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	pub := got.Updates[1]
	if want := "We're investigating issues with Checkout API (" + inc.Key + ") and will provide updates here soon."; pub.Message != want ||
		pub.Audience != "public" || pub.Phase != "investigating" || pub.Components["api"] != "partial_outage" || pub.By != "admin" {
		t.Fatalf("public update %+v", pub)
	}
	// sev1: the next update is due 30m after the last.
	if got.NextUpdateAt == nil || got.NextUpdateAt.Before(before.Add(29*time.Minute)) || got.NextUpdateAt.After(time.Now().Add(31*time.Minute)) {
		t.Fatalf("next_update_at %v", got.NextUpdateAt)
	}
	if code, out := c.Run(n, "update", inc.Key, "--phase", "monitoring", "--next", "10m", "Fix deployed, watching"); code != 0 || !strings.Contains(out, "internal update (monitoring) posted: Fix deployed, watching") {
		t.Fatalf("pagerd update: %d %s", code, out)
	}
	if code, out := c.Run(n, "incident", inc.Key); code != 0 || !strings.Contains(out, "phase:     monitoring") ||
		!strings.Contains(out, inc.Key+"-U2") || !strings.Contains(out, "public (investigating) by admin: We're investigating") {
		t.Fatalf("pagerd incident: %d %s", code, out)
	}
	if code, out := c.Run(n, "resolve", inc.Key); code != 0 {
		t.Fatalf("resolve: %d %s", code, out)
	}
	got = *amGetIncident(t, c, n, inc.ID)
	final := got.Updates[len(got.Updates)-1]
	if len(got.Updates) != 4 || !final.Auto || final.Audience != "public" || final.Phase != "resolved" ||
		final.Message != "Service restored; a postmortem will follow." || final.Components["api"] != "operational" {
		t.Fatalf("final update %+v of %d", final, len(got.Updates))
	}
	var posted int
	for _, e := range got.Timeline {
		if e.Type == incident.EntryUpdatePosted {
			posted++
		}
	}
	if posted != 4 {
		t.Fatalf("%d update_posted timeline entries, want 4", posted)
	}
}

// TestUpdateReplies (spec §5.5): SMS "1u TEXT" from the paged phone posts
// an internal update as that user with the next deadline set; "1p TEXT"
// from someone holding neither role is refused in the same channel and
// posted once they took the comms manager role (1cm); an email whose first
// line is "update: TEXT" posts one too.
func TestUpdateReplies(t *testing.T) {
	tw := twiliotest.NewServer("ACtest", "secret-token")
	t.Cleanup(tw.Close)
	c, n, box := suStart(t, tw.URL)
	cfg := strings.Replace(fmt.Sprintf(pgConfig, "1h", box.addr, tw.URL),
		`api_base: "`+tw.URL+`"}`, `api_base: "`+tw.URL+`", public_url: "http://`+n.HTTPAddr+`"}`, 1) + suStatus
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out := c.Run(n, "config", "apply", path); code != 0 {
		t.Fatalf("config apply: %d %s", code, out)
	}
	pgTrigger(t, c, n, "su-sms", "test-texts-key")
	c.WaitFor(20*time.Second, func() (bool, string) { return len(tw.Messages()) == 1, "no SMS yet" })
	code, out := rpTwilio(t, c, n, "+31612345003", "1u Rolled back the deploy", "SMupd1", true)
	if code != 200 || !strings.Contains(out, "Update posted: INC-1") {
		t.Fatalf("1u: %d %s", code, out)
	}
	got := pgIncident(t, c, n, "su-sms")
	if len(got.Updates) != 1 || got.Updates[0].By != "carol" || got.Updates[0].Audience != "internal" ||
		got.Updates[0].Message != "Rolled back the deploy" || got.Updates[0].Channel != "sms" || got.NextUpdateAt == nil {
		t.Fatalf("after 1u: %+v next %v", got.Updates, got.NextUpdateAt)
	}
	code, out = rpTwilio(t, c, n, "+31612345003", "1p We are recovering", "SMupd2", true)
	if code != 200 || !strings.Contains(out, "neither role") {
		t.Fatalf("1p from carol: %d %s", code, out)
	}
	if got := pgIncident(t, c, n, "su-sms"); len(got.Updates) != 1 {
		t.Fatalf("refused 1p posted: %+v", got.Updates)
	}
	// Once carol holds the comms manager role, her public update is posted.
	if code, out := rpTwilio(t, c, n, "+31612345003", "1cm", "SMupd3", true); code != 200 || !strings.Contains(out, "You took the role") {
		t.Fatalf("1cm: %d %s", code, out)
	}
	code, out = rpTwilio(t, c, n, "+31612345003", "1p We are recovering", "SMupd4", true)
	if code != 200 || !strings.Contains(out, "Update posted: INC-1") {
		t.Fatalf("1p from the comms manager: %d %s", code, out)
	}
	if got := pgIncident(t, c, n, "su-sms"); len(got.Updates) != 2 || got.Updates[1].Audience != "public" || got.Updates[1].By != "carol" {
		t.Fatalf("after 1p: %+v", got.Updates)
	}

	pgTrigger(t, c, n, "su-mail", testcluster.EventsKey)
	inc := pgIncident(t, c, n, "su-mail")
	replyTo, subject := rpPageEmail(t, c, box, fmt.Sprintf("n%d-1-0", inc.ID))
	code, sout := rpSwaks(t, n.SMTPAddr, "alice@example.com", replyTo,
		rpReply("upd-1@mail.example.com", "alice@example.com", replyTo, subject, "update: Database failover in progress", "INC page"))
	if code != 0 {
		t.Fatalf("reply: swaks exit %d:\n%s", code, sout)
	}
	c.WaitFor(10*time.Second, func() (bool, string) {
		got := pgIncident(t, c, n, "su-mail")
		return len(got.Updates) == 1 && got.Updates[0].Message == "Database failover in progress" && got.Updates[0].By == "alice",
			fmt.Sprintf("updates %+v", got.Updates)
	})
}
