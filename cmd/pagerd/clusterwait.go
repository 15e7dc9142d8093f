package main

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/pagerd/pagerd/cluster"
)

// statusPoll is how often a waiting `cluster status` asks again.
const statusPoll = 250 * time.Millisecond

// clusterStatusWhenReady gets /v1/cluster, waiting up to wait while the node
// is still starting: not listening yet, answering 503 (no leader or no
// config yet, as a node that has just joined does), or naming no leader.
// Right after the README's 3-node commands that is the normal state for a
// second or two, not an error. It says once on stderr that it waits.
func clusterStatusWhenReady(c *client, wait time.Duration, stderr io.Writer) (cluster.Status, []byte, error) {
	deadline := time.Now().Add(wait)
	told := false
	for {
		var st cluster.Status
		raw, err := c.getJSON("/v1/cluster", nil, &st)
		why := notReadyReason(err, st)
		if why == "" {
			return st, raw, err
		}
		if !time.Now().Before(deadline) {
			if err == nil {
				err = errors.New("the cluster has no leader yet")
			}
			if wait > 0 {
				return st, nil, fmt.Errorf("%w (waited %s; a starting cluster elects a leader within seconds: check the nodes' logs, or run this again)", err, wait)
			}
			return st, nil, fmt.Errorf("%w (a starting node needs a few seconds; run this again, or use --wait)", err)
		}
		if !told {
			fmt.Fprintf(stderr, "waiting up to %s for %s to know a leader (%s)...\n", wait, c.server, why)
			told = true
		}
		time.Sleep(statusPoll)
	}
}

// notReadyReason says why an answer means "still starting", or "" when it
// is final (success with a leader, or an error waiting does not mend).
func notReadyReason(err error, st cluster.Status) string {
	var ae *apiError
	var ue *url.Error
	switch {
	case err == nil && st.Leader == "":
		return "no leader elected yet"
	case err == nil:
		return ""
	case errors.As(err, &ae) && ae.status == http.StatusServiceUnavailable:
		return ae.msg
	case errors.As(err, &ue):
		return "not answering yet"
	}
	return ""
}
