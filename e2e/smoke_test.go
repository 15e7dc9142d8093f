package e2e

import (
	"testing"

	"github.com/pagerd/pagerd/internal/testcluster"
)

// TestClusterForms starts three real node processes and writes through a follower.
func TestClusterForms(t *testing.T) {
	c := testcluster.Start(t, 3, testcluster.Options{})
	f := c.Followers()[0]
	code, body := c.Event(f, "trigger", "smoke-1", "smoke test")
	if code != 202 {
		t.Fatalf("trigger via follower: %d %s", code, body)
	}
}
