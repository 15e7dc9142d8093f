package e2e

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pagerd/pagerd/internal/testcluster"
	"github.com/pagerd/pagerd/internal/testpki"
)

// In a cluster secured with --raft-tls-*, a follower forwards console
// writes to the leader through the TLS tunnel on its Raft port; the leader
// checks the session cookie and CSRF token the browser sent and acts as the
// signed-in name.
func TestConsoleWritesThroughTLSTunnel(t *testing.T) {
	files := testpki.NewCA(t, "pagerd-cluster-ca").WriteNode(t, t.TempDir(), "member")
	c := testcluster.Start(t, 3, testcluster.Options{ExtraArgs: files.Args(), Env: []string{"PAGERD_CLUSTER_SECRET="}})
	code, out := c.Event(c.Leader(), "trigger", "tls-console", "through the tunnel")
	if code != http.StatusAccepted {
		t.Fatalf("trigger: %d %s", code, out)
	}
	base := c.Followers()[0].URL()
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar}
	resp, err := hc.PostForm(base+"/ui/login", url.Values{"token": {testcluster.Token}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var page string
	testcluster.WaitFor(t, 10*time.Second, func() (bool, string) {
		resp, err := hc.Get(base + "/ui/incidents/INC-1")
		if err != nil {
			return false, err.Error()
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		page = string(b)
		return resp.StatusCode == 200 && strings.Contains(page, `id="ack"`), "incident page: " + resp.Status
	})
	csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page)[1]
	resp, err = hc.PostForm(base+"/ui/incidents/INC-1/ack", url.Values{"csrf": {csrf}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), `id="acked-by">admin<`) {
		t.Fatalf("ack through the follower: %d\n%s", resp.StatusCode, b)
	}
	var inc struct {
		AcknowledgedBy string `json:"acknowledged_by"`
	}
	c.GetJSON(c.Leader(), "/v1/incidents/INC-1", &inc)
	if inc.AcknowledgedBy != "admin" {
		t.Fatalf("API acknowledged_by %q, want admin", inc.AcknowledgedBy)
	}
}
