package e2e

import (
	"bufio"
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pagerd/pagerd/internal/testcluster"
)

// metricSum adds up every sample of name on every running node (a
// histogram's name_count over all label sets): the cluster's total.
func metricSum(t *testing.T, c *testcluster.Cluster, name string) float64 {
	t.Helper()
	total := 0.0
	for _, n := range c.Nodes {
		if !n.Running() {
			continue
		}
		code, body := c.Do(n, "GET", "/metrics", nil, nil)
		if code != 200 {
			continue
		}
		sc := bufio.NewScanner(bytes.NewReader(body))
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
				continue
			}
			f := strings.Fields(line)
			v, err := strconv.ParseFloat(f[len(f)-1], 64)
			if err == nil {
				total += v
			}
		}
	}
	return total
}

const (
	ttaCount = "pagerd_incident_time_to_ack_seconds_count"
	ttrCount = "pagerd_incident_time_to_resolve_seconds_count"
)

func waitCounts(t *testing.T, c *testcluster.Cluster, tta, ttr float64) {
	t.Helper()
	c.WaitFor(20*time.Second, func() (bool, string) {
		a, r := metricSum(t, c, ttaCount), metricSum(t, c, ttrCount)
		return a == tta && r == ttr, fmt.Sprintf("cluster observed time to ack %v times, to resolve %v times; want %v and %v", a, r, tta, ttr)
	})
}

// Three real nodes: an incident acknowledged and resolved is observed once
// in the cluster (not once per node), labelled by service and severity; a
// full restart replays the log on every node and observes nothing again;
// an incident handled after the restart is observed once.
func TestResponseHistogramsObservedOncePerIncidentInTheCluster(t *testing.T) {
	c := testcluster.Start(t, 3, testcluster.Options{})
	leader := c.Leader()
	for _, action := range []string{"trigger", "acknowledge", "resolve"} {
		if code, out := c.Event(leader, action, "hist-1", "Checkout down"); code != 202 {
			t.Fatalf("%s: %d %s", action, code, out)
		}
	}
	waitCounts(t, c, 1, 1)
	_, body := c.Do(leader, "GET", "/metrics", nil, nil)
	if !strings.Contains(string(body), ttrCount+`{service="checkout",severity="sev1"} 1`) {
		t.Fatalf("the leader's time-to-resolve series is not labelled checkout/sev1:\n%s", body)
	}

	for _, n := range c.Nodes {
		n.Kill()
	}
	for _, n := range c.Nodes {
		n.Start()
	}
	for _, n := range c.Nodes {
		c.WaitReady(n)
	}
	leader = c.Leader()
	for _, action := range []string{"trigger", "acknowledge", "resolve"} {
		if code, out := c.Event(leader, action, "hist-2", "Checkout down again"); code != 202 {
			t.Fatalf("%s after the restart: %d %s", action, code, out)
		}
	}
	// Fresh processes start their metrics at zero: one observation each is
	// hist-2; the replayed hist-1 would make two.
	waitCounts(t, c, 1, 1)
}
