package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pagerd/pagerd/internal/testcluster"
)

// TestStatusReadRateUnderIngest measures GET /status/{page} and
// summary.json per second from one follower while Events v2 ingest runs
// open loop on the leader (docs/PERFORMANCE.md). It is a measurement, not
// a check: it runs only with PAGERD_STATUS_BENCH=1 (rate:
// PAGERD_STATUS_BENCH_RATE, default 1750 events/s, duration 10 s).
func TestStatusReadRateUnderIngest(t *testing.T) {
	if os.Getenv("PAGERD_STATUS_BENCH") != "1" {
		t.Skip("measurement: set PAGERD_STATUS_BENCH=1")
	}
	rate, _ := strconv.Atoi(os.Getenv("PAGERD_STATUS_BENCH_RATE"))
	if rate <= 0 {
		rate = 1750
	}
	const dur = 10 * time.Second
	c := testcluster.Start(t, 3, testcluster.Options{Config: fmt.Sprintf(statusConfig, "")})
	leader, follower := c.Leader(), c.Followers()[0]
	// Five incidents with public updates, so the page has something to render.
	for i := 0; i < 5; i++ {
		key := fmt.Sprintf("bench-%d", i)
		c.Event(leader, "trigger", key, "bench")
		inc := pgIncident(t, c, leader, key)
		for j := 0; j < 3; j++ {
			stUpdate(t, c, leader, inc.ID, map[string]any{"audience": "public", "phase": "investigating",
				"message": fmt.Sprintf("Update %d of incident %d.", j, i), "components": map[string]string{"api": "partial_outage"}})
		}
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
	stop := make(chan struct{})
	var sent, ingestErr atomic.Int64
	var wg sync.WaitGroup
	jobs := make(chan int, 4096)
	for w := 0; w < 64; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				b, _ := json.Marshal(map[string]any{"routing_key": testcluster.EventsKey, "event_action": "trigger", "dedup_key": "load-" + strconv.Itoa(i),
					"payload": map[string]any{"summary": "load", "source": "bench", "severity": "warning"}})
				resp, err := client.Post(leader.URL()+"/v2/enqueue", "application/json", bytes.NewReader(b))
				if err != nil || resp.StatusCode != 202 {
					ingestErr.Add(1)
				}
				if resp != nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				sent.Add(1)
			}
		}()
	}
	go func() { // open loop: `rate` events per second in 10 ms slices
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		i := 0
		for {
			select {
			case <-stop:
				close(jobs)
				return
			case <-tick.C:
				for k := 0; k < rate/100; k++ {
					select {
					case jobs <- i:
						i++
					default: // the workers fell behind: the point is dropped, not queued
					}
				}
			}
		}
	}()
	read := func(path string) (float64, int64) {
		var n, bad atomic.Int64
		var rw sync.WaitGroup
		end := time.Now().Add(dur / 2)
		for r := 0; r < 8; r++ {
			rw.Add(1)
			go func() {
				defer rw.Done()
				for time.Now().Before(end) {
					resp, err := client.Get(follower.URL() + path)
					if err != nil || resp.StatusCode != 200 {
						bad.Add(1)
					}
					if resp != nil {
						io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
					}
					n.Add(1)
				}
			}()
		}
		rw.Wait()
		return float64(n.Load()) / (dur / 2).Seconds(), bad.Load()
	}
	start := time.Now()
	htmlRate, htmlBad := read("/status/public")
	jsonRate, jsonBad := read("/status/public/summary.json")
	close(stop)
	wg.Wait()
	ingested := float64(sent.Load()) / time.Since(start).Seconds()
	t.Logf("ingest offered %d/s, sent %.0f/s (%d errors); from a follower, 8 readers: GET /status/public %.0f/s (%d errors), summary.json %.0f/s (%d errors)",
		rate, ingested, ingestErr.Load(), htmlRate, htmlBad, jsonRate, jsonBad)
}
