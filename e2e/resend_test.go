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

// TestTwilioResendAnswersTheFirstAnswer is issue 10.9 against a real
// pagerd: Twilio resends a signed "a" with the same MessageSid after a newer
// page arrived; the resend answers what the first request did and
// acknowledges nothing. A resent refusal is refused again with the same words.
func TestTwilioResendAnswersTheFirstAnswer(t *testing.T) {
	tw := twiliotest.NewServer("ACtest", "secret-token")
	t.Cleanup(tw.Close)
	c := testcluster.Start(t, 1, testcluster.Options{Config: fmt.Sprintf(pgConfig, "1h", "127.0.0.1:1", tw.URL)})
	n := c.Nodes[0]
	cfg := strings.Replace(fmt.Sprintf(pgConfig, "1h", "127.0.0.1:1", tw.URL),
		`api_base: "`+tw.URL+`"}`, `api_base: "`+tw.URL+`", public_url: "http://`+n.HTTPAddr+`"}`, 1)
	path := filepath.Join(t.TempDir(), "config.yaml")
	os.WriteFile(path, []byte(cfg), 0o600)
	if code, out := c.Run(n, "config", "apply", path); code != 0 {
		t.Fatalf("config apply: %d %s", code, out)
	}
	const carol = "+31612345003"
	pgTrigger(t, c, n, "resend-1", "test-texts-key")
	c.WaitFor(20*time.Second, func() (bool, string) { return len(tw.Messages()) == 1, "no SMS yet" })
	waitSMSPageSent(t, c, n, "resend-1")
	code, first := rpTwilio(t, c, n, carol, "a", "SMresend1", true)
	if code != 200 || !strings.Contains(first, "Acknowledged INC-1") {
		t.Fatalf("a: %d %s", code, first)
	}

	pgTrigger(t, c, n, "resend-2", "test-texts-key") // a newer page: INC-2
	c.WaitFor(20*time.Second, func() (bool, string) { return len(tw.Messages()) == 2, "no second SMS yet" })
	waitSMSPageSent(t, c, n, "resend-2")
	code, again := rpTwilio(t, c, n, carol, "a", "SMresend1", true)
	if code != 200 || again != first {
		t.Errorf("resend of SMresend1: %d %s\nwant the first answer: %s", code, again, first)
	}
	if got := pgIncident(t, c, n, "resend-2"); got.Status != incident.Triggered {
		t.Errorf("the resend changed INC-2: %s by %q", got.Status, got.AcknowledgedBy)
	}

	// A refused reply, resent, is refused with the same words.
	code, refused := rpTwilio(t, c, n, carol, "1a", "SMresend2", true)
	if code != 200 || !strings.Contains(refused, "already acknowledged") {
		t.Fatalf("1a on the acknowledged INC-1: %d %s", code, refused)
	}
	code, again = rpTwilio(t, c, n, carol, "1a", "SMresend2", true)
	if code != 200 || again != refused {
		t.Errorf("resend of a refused reply: %d %s\nwant the first answer: %s", code, again, refused)
	}
}
