package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pagerd/pagerd/incident"
	"github.com/pagerd/pagerd/internal/testcluster"
	"github.com/pagerd/pagerd/notify/sms/twiliotest"
)

// TestSeverityReplies (spec §5.5): SMS "1s3" from the paged phone and an
// email reply whose first line is "sev2" set the severity as the paged
// user, through a real daemon (Twilio-format webhook, swaks into its SMTP
// port, pages to aiosmtpd).
func TestSeverityReplies(t *testing.T) {
	box := pgStartSMTP(t)
	tw := twiliotest.NewServer("ACtest", "secret-token")
	t.Cleanup(tw.Close)
	c := testcluster.Start(t, 1, testcluster.Options{SMTP: true, Config: fmt.Sprintf(pgConfig, "1h", box.addr, tw.URL)})
	n := c.Nodes[0]
	cfg := strings.Replace(fmt.Sprintf(pgConfig, "1h", box.addr, tw.URL),
		`api_base: "`+tw.URL+`"}`, `api_base: "`+tw.URL+`", public_url: "http://`+n.HTTPAddr+`"}`, 1)
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out := c.Run(n, "config", "apply", path); code != 0 {
		t.Fatalf("config apply: %d %s", code, out)
	}

	pgTrigger(t, c, n, "sev-sms", "test-texts-key")
	c.WaitFor(20*time.Second, func() (bool, string) { return len(tw.Messages()) == 1, "no SMS yet" })
	waitSMSPageSent(t, c, n, "sev-sms")
	code, out := rpTwilio(t, c, n, "+31612345003", "1s3", "SMsev1", true)
	if code != 200 || !strings.Contains(out, "Severity set: INC-1 sev3") {
		t.Fatalf("1s3: %d %s", code, out)
	}
	got := pgIncident(t, c, n, "sev-sms")
	if got.Severity != "sev3" || got.SeveritySetBy != "carol" || got.Status != incident.Triggered {
		t.Fatalf("after 1s3: %s set by %q, %s", got.Severity, got.SeveritySetBy, got.Status)
	}
	last := got.Timeline[len(got.Timeline)-1]
	if last.Type != incident.EntrySeverityChanged || last.From != "sev1" || last.To != "sev3" || last.Actor != "carol" {
		t.Fatalf("timeline entry %+v", last)
	}

	pgTrigger(t, c, n, "sev-mail", testcluster.EventsKey)
	inc := pgIncident(t, c, n, "sev-mail")
	replyTo, subject := rpPageEmail(t, c, box, fmt.Sprintf("n%d-1-0", inc.ID))
	code, out = rpSwaks(t, n.SMTPAddr, "alice@example.com", replyTo,
		rpReply("sev-2@mail.example.com", "alice@example.com", replyTo, subject, "sev2 - only EU customers", "INC page"))
	if code != 0 {
		t.Fatalf("reply: swaks exit %d:\n%s", code, out)
	}
	got = pgIncident(t, c, n, "sev-mail")
	if got.Severity != "sev2" || got.SeveritySetBy != "alice" {
		t.Fatalf("after the email: %s set by %q", got.Severity, got.SeveritySetBy)
	}
}
