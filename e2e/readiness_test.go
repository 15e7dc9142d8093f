package e2e

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pagerd/pagerd/internal/testcluster"
)

// A restarted node replays its log before its state is current. Until it
// has applied what the cluster had committed when it came back, /readyz is
// 503 and no token is checked against its older config: a token the latest
// config revoked is never accepted on it.
func TestRestartedNodeIsNotReadyUntilCaughtUp(t *testing.T) {
	const oldToken = "token-revoked-by-the-latest-config"
	withOld := strings.Replace(testcluster.DefaultConfig, "api_tokens:\n",
		"api_tokens:\n  - {name: old, token: \""+oldToken+"\"}\n", 1)
	c := testcluster.Start(t, 3, testcluster.Options{Config: withOld})
	// Make the replay long: a restore's pieces and its commit (which decodes
	// the whole snapshot) lie in every node's log before the revoking config.
	file := filepath.Join(t.TempDir(), "backup.snap")
	if err := os.WriteFile(file, bigSnapshot(t, c, withOld, 2000, 10000), 0o600); err != nil {
		t.Fatal(err)
	}
	restoreRetrying(t, c, file)
	var code int
	var body []byte
	c.WaitFor(30*time.Second, func() (bool, string) { // a 503 during an election is retried
		code, body = c.Do(c.Leader(), http.MethodPut, "/v1/config", []byte(testcluster.DefaultConfig), nil)
		return code != http.StatusServiceUnavailable, string(body)
	})
	mustOK(t, "PUT /v1/config revoking a token", code, body, 200)
	var applied struct{ Version string }
	json.Unmarshal(body, &applied)
	waitConverged(t, c, 30*time.Second)

	// The follower restarts cut off from the others: it cannot learn the
	// cluster's commit index, so it must stay in its catching-up state (503
	// on the API, the readiness check and the Twilio webhook) for as long
	// as the cut lasts; that window is what this test observes.
	rnet := c.ProxyRaft()
	f := c.Followers()[0]
	f.Stop()
	rnet.Isolate(f)
	f.Start()
	oldAuth := map[string]string{"Authorization": "Bearer " + oldToken}
	c.WaitFor(30*time.Second, func() (bool, string) { // until its HTTP listener answers
		code, body := c.Do(f, http.MethodGet, "/v1/incidents?limit=1", nil, oldAuth)
		return code != 0, string(body)
	})
	for i := 0; i < 5; i++ {
		if code, body := c.Do(f, http.MethodGet, "/v1/incidents?limit=1", nil, oldAuth); code != 503 {
			t.Fatalf("catching up, the old token got %d %s, want 503", code, short(body))
		}
		if code, body := c.Do(f, http.MethodGet, "/readyz", nil, nil); code != 503 {
			t.Fatalf("catching up, /readyz %d %s, want 503", code, short(body))
		}
		code, body := c.Do(f, http.MethodPost, "/v1/sms/twilio", []byte("From=%2B1&Body=1a"),
			map[string]string{"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": "c2ln"})
		if code != 503 {
			t.Fatalf("catching up, the Twilio webhook answered %d %s, want 503", code, short(body))
		}
	}
	rnet.Heal()

	deadline := time.Now().Add(60 * time.Second)
	var refused, readyPolls int
	for readyPolls < 20 {
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready within 60s of its restart", f.ID)
		}
		code, body := c.Do(f, http.MethodGet, "/v1/incidents?limit=1", nil, oldAuth)
		switch code {
		case 200:
			t.Fatalf("%s accepted a token the latest config revoked: %s", f.ID, short(body))
		case 503:
			refused++
		}
		code, body = c.Do(f, http.MethodGet, "/readyz", nil, nil)
		if code == 200 {
			readyPolls++
			var rz struct {
				ConfigVersion string `json:"config_version"`
			}
			json.Unmarshal(body, &rz)
			if rz.ConfigVersion != applied.Version {
				t.Fatalf("%s ready with config %s, the cluster's is %s", f.ID, rz.ConfigVersion, applied.Version)
			}
		}
	}
	t.Logf("%s refused the API with 503 %d times while catching up", f.ID, refused)
	if code, body := c.Do(f, http.MethodGet, "/v1/incidents?limit=1", nil, map[string]string{"Authorization": "Bearer " + oldToken}); code != 401 {
		t.Fatalf("revoked token after catching up: %d %s, want 401", code, body)
	}
}
