package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/pagerd/pagerd/incident"
)

func TestProtocolNamesAreNotCommandTypes(t *testing.T) {
	for name, v := range AnnouncedVersions() {
		if _, isType := typeByName(name); !isType && name != ingestForwardProtocol {
			t.Errorf("announced %s=%d is neither a command type nor a protocol", name, v)
		}
	}
	if _, isType := typeByName(ingestForwardProtocol); isType {
		t.Fatalf("protocol name %q is also a command type's: the gate would read one as the other", ingestForwardProtocol)
	}
	if AnnouncedVersions()[ingestForwardProtocol] != ingestForwardVersion {
		t.Fatal("this binary does not announce the ingest forwarding channel")
	}
}

// The request a follower builds decodes on the leader to the very payloads.
func TestForwardRequestRoundTrip(t *testing.T) {
	ev := &incident.Event{Integration: "events", Service: "checkout", Action: incident.ActionTrigger, DedupKey: "k<&>",
		AutoResolve: true, RulesVersion: incident.RulesCurrent,
		Alert: incident.Alert{Fingerprint: "k<&>", Status: "firing", Labels: map[string]string{"source": "db-1"},
			Annotations: map[string]string{"summary": "disk \u2028 full"}}}
	g := &incident.AlertGroup{Integration: "prometheus", Service: "payments", GroupKey: "{}:{a=\"b\"}", Status: "firing",
		Alerts: []incident.Alert{{Fingerprint: "f1", Status: "firing", Labels: map[string]string{"a": "b"},
			StartsAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}}}
	var kinds []string
	var bodies [][]byte
	for kind, p := range map[string]any{fwdEvent: ev, fwdAlertGroup: g, fwdHeartbeats: []string{"hb-1", "hb-2"}} {
		b, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		kinds, bodies = append(kinds, kind), append(bodies, b)
	}
	items, err := decodeForwardRequest(encodeForwardRequest(kinds, bodies))
	if err != nil {
		t.Fatal(err)
	}
	for i, it := range items {
		if it.kind != kinds[i] {
			t.Fatalf("item %d: kind %q, want %q", i, it.kind, kinds[i])
		}
		switch it.kind {
		case fwdEvent:
			if !reflect.DeepEqual(it.event, ev) {
				t.Errorf("event: %+v, want %+v", it.event, ev)
			}
		case fwdAlertGroup:
			if !reflect.DeepEqual(it.group, g) {
				t.Errorf("group: %+v, want %+v", it.group, g)
			}
		case fwdHeartbeats:
			if !reflect.DeepEqual(it.heartbeats, []string{"hb-1", "hb-2"}) {
				t.Errorf("heartbeats: %v", it.heartbeats)
			}
		}
	}
}

func TestForwardRequestIsStrict(t *testing.T) {
	ok := `{"kind":"heartbeats","body":["hb"]}`
	for name, req := range map[string]string{
		"no items":      `{"items":[]}`,
		"unknown field": `{"items":[` + ok + `],"x":1}`,
		"trailing data": `{"items":[` + ok + `]} {}`,
		"unknown kind":  `{"items":[{"kind":"action","body":{}}]}`,
		"null body":     `{"items":[{"kind":"event","body":null}]}`,
		"no body":       `{"items":[{"kind":"event"}]}`,
		"body field":    `{"items":[{"kind":"event","body":{"service":"x","bogus":1}}]}`,
		"no heartbeats": `{"items":[{"kind":"heartbeats","body":[]}]}`,
		"too many":      `{"items":[` + strings.Repeat(ok+",", maxForwardItems) + ok + `]}`,
	} {
		if _, err := decodeForwardRequest([]byte(req)); err == nil {
			t.Errorf("%s: accepted %.80s", name, req)
		}
	}
}

// What the follower's router gets back is what the leader's submit
// returned: the text, a Retry-After, a commit deadline.
func TestForwardResultKeepsTheLeadersAnswer(t *testing.T) {
	deadline := fmt.Errorf("commit: %w", context.DeadlineExceeded)
	cases := []struct {
		res incident.IngestResult
		err error
	}{
		{res: incident.IngestResult{Incident: 7, DedupKey: "k", Created: true}},
		{res: incident.IngestResult{DedupKey: "k"}},
		{err: &Unavailable{Reason: "no quorum", After: 30 * time.Second}},
		{err: deadline},
		{err: errors.New("raft apply: disk on fire")},
	}
	for _, c := range cases {
		data, err := encodeForwardAnswer([]fwdResult{resultOf(c.res, c.err)})
		if err != nil {
			t.Fatal(err)
		}
		rs, err := decodeForwardAnswer(bytes.NewReader(data), 1)
		if err != nil {
			t.Fatal(err)
		}
		res, got := rs[0].ingestOutcome()
		if c.err == nil {
			if got != nil || res != c.res {
				t.Errorf("result %+v: got %+v, %v", c.res, res, got)
			}
			continue
		}
		if got == nil || got.Error() != c.err.Error() {
			t.Fatalf("error %q: got %v", c.err, got)
		}
		var wantRA, gotRA interface{ RetryAfter() time.Duration }
		if errors.As(c.err, &wantRA) != errors.As(got, &gotRA) || (wantRA != nil && wantRA.RetryAfter() != gotRA.RetryAfter()) {
			t.Errorf("error %q: Retry-After not kept (%v)", c.err, got)
		}
		if errors.Is(c.err, context.DeadlineExceeded) != errors.Is(got, context.DeadlineExceeded) {
			t.Errorf("error %q: deadline not kept", c.err)
		}
	}
	if _, err := decodeForwardAnswer(strings.NewReader(`{"results":[{}]}`), 2); err == nil {
		t.Fatal("an answer with fewer results than items was accepted")
	}
}

// FuzzDecodeForwardRequest: the leader's decoder of followers' requests
// never panics, and what it accepts is well-formed: one payload per item,
// of its kind, and encoding the payloads again gives a request that
// decodes to the same.
func FuzzDecodeForwardRequest(f *testing.F) {
	f.Add([]byte(`{"items":[{"kind":"heartbeats","body":["hb"]}]}`))
	f.Add([]byte(`{"items":[{"kind":"event","body":{"integration":"e","service":"s","action":"trigger","dedup_key":"k","auto_resolve":true,"alert":{"fingerprint":"k","status":"firing","labels":{},"annotations":{},"startsAt":"0001-01-01T00:00:00Z","endsAt":"0001-01-01T00:00:00Z"}}}]}`))
	f.Add([]byte(`{"items":[{"kind":"alert_group","body":{"integration":"p","service":"s","group_key":"g","status":"firing","alerts":[]}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		items, err := decodeForwardRequest(data)
		if err != nil {
			return
		}
		if len(items) == 0 || len(items) > maxForwardItems {
			t.Fatalf("accepted %d items", len(items))
		}
		kinds, bodies := make([]string, len(items)), make([][]byte, len(items))
		for i, it := range items {
			var p any
			switch it.kind {
			case fwdEvent:
				p = it.event
			case fwdAlertGroup:
				p = it.group
			case fwdHeartbeats:
				p = it.heartbeats
			default:
				t.Fatalf("accepted kind %q", it.kind)
			}
			if reflect.ValueOf(p).IsNil() {
				t.Fatalf("item %d of kind %s without payload", i, it.kind)
			}
			b, err := json.Marshal(p)
			if err != nil {
				t.Fatalf("re-encode item %d: %v", i, err)
			}
			kinds[i], bodies[i] = it.kind, b
		}
		again, err := decodeForwardRequest(encodeForwardRequest(kinds, bodies))
		if err != nil {
			t.Fatalf("re-encoded request refused: %v", err)
		}
		if len(again) != len(items) {
			t.Fatalf("re-decoded %d items of %d", len(again), len(items))
		}
	})
}

// FuzzDecodeForwardAnswer: the follower's decoder of the leader's answer
// never panics and returns exactly one result per item or an error.
func FuzzDecodeForwardAnswer(f *testing.F) {
	f.Add([]byte(`{"results":[{"incident":1,"dedup_key":"k","created":true}]}`), 1)
	f.Add([]byte(`{"results":[{"error":"x","retry_after_ms":1000},{"error":"y","deadline":true}]}`), 2)
	f.Fuzz(func(t *testing.T, data []byte, want int) {
		rs, err := decodeForwardAnswer(bytes.NewReader(data), want)
		if err != nil {
			return
		}
		if len(rs) != want {
			t.Fatalf("%d results for %d items", len(rs), want)
		}
		for _, r := range rs {
			if _, err := r.ingestOutcome(); (err == nil) != (r.Error == "") {
				t.Fatalf("result %+v: error %v", r, err)
			}
		}
	})
}

func forwardSample(b *testing.B, n int) []byte {
	ev, err := json.Marshal(&incident.Event{Integration: "events", Service: "web", Action: incident.ActionTrigger,
		DedupKey: "storm-12345", RulesVersion: incident.RulesCurrent,
		Alert: incident.Alert{Fingerprint: "storm-12345", Status: "firing", Labels: map[string]string{"source": "bench"},
			Annotations: map[string]string{"summary": "disk full on host-1"}}})
	if err != nil {
		b.Fatal(err)
	}
	kinds, bodies := make([]string, n), make([][]byte, n)
	for i := range kinds {
		kinds[i], bodies[i] = fwdEvent, ev
	}
	return encodeForwardRequest(kinds, bodies)
}

// BenchmarkDecodeForwardRequest: the leader's decode of a follower's
// request of 16 events (framing by hand, each body strictly).
func BenchmarkDecodeForwardRequest(b *testing.B) {
	data := forwardSample(b, 16)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := decodeForwardRequest(data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeForwardRequestStrictFrame: the same with the framing
// decoded strictly by encoding/json first (the first form of the channel).
func BenchmarkDecodeForwardRequestStrictFrame(b *testing.B) {
	data := forwardSample(b, 16)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		var req struct {
			Items []struct {
				Kind string          `json:"kind"`
				Body json.RawMessage `json:"body"`
			} `json:"items"`
		}
		if err := decodeStrict(data, &req); err != nil {
			b.Fatal(err)
		}
		for _, it := range req.Items {
			if _, err := decodeForwardItem(it.Kind, it.Body); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// The worker pool runs every job, concurrently when they wait on each
// other, and reuses idle workers.
func TestWorkerPoolRunsEveryJob(t *testing.T) {
	p := &workerPool{jobs: make(chan func())}
	const n = 50
	release := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(n)
	var started atomic.Int32
	for i := 0; i < n; i++ {
		p.run(func() {
			defer wg.Done()
			started.Add(1)
			<-release // all n must run at once for any to finish
		})
	}
	awaitCond(t, 5*time.Second, "every job started", func() bool { return started.Load() == n })
	close(release)
	wg.Wait()
	// Now n workers are idle: more jobs run on them.
	var ran atomic.Int32
	wg.Add(n)
	for i := 0; i < n; i++ {
		p.run(func() { defer wg.Done(); ran.Add(1) })
	}
	wg.Wait()
	if ran.Load() != n {
		t.Fatalf("%d of %d jobs ran", ran.Load(), n)
	}
}

// The version gate of the channel: a caught-up follower serves ingest
// itself only while the leader's member record announces ingest_forward;
// a leader whose record does not (a previous release) gets the whole
// request proxied, and a request marked as forwarded is never served here.
func TestFollowerServesIngestOnlyWhenTheLeaderAnnouncesTheChannel(t *testing.T) {
	leader := openNodeAt(t, t.TempDir(), freeAddr(t))
	defer leader.Close()
	addr := freeAddr(t)
	f, err := Open(Options{NodeID: "t2", DataDir: t.TempDir(), RaftAddr: addr, HTTPAddr: "127.0.0.1:1",
		Join: []string{"http://127.0.0.1:1"}, ClusterSecrets: []string{"test-cluster-secret"},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Fatal: func(err error) { t.Errorf("fatal: %v", err) }})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := leader.raft.AddVoter("t2", raft.ServerAddress(addr), 0, 10*time.Second).Error(); err != nil {
		t.Fatal(err)
	}
	awaitCond(t, 10*time.Second, "t2 follows and has caught up", func() bool { return f.Leader() == "t1" && f.CaughtUp() })

	var served atomic.Int32
	h := f.IngestAnywhere(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		served.Add(1)
		w.WriteHeader(http.StatusAccepted)
	}))
	post := func(hdr ...string) int {
		r := httptest.NewRequest(http.MethodPost, "/v2/enqueue", strings.NewReader("{}"))
		for i := 0; i+1 < len(hdr); i += 2 {
			r.Header.Set(hdr[i], hdr[i+1])
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Code
	}
	// The leader recorded itself with AnnouncedVersions when it took office.
	awaitCond(t, 10*time.Second, "the follower sees the leader's announcement", f.forwarder.ingest.leaderSpeaks)
	if code := post(); code != http.StatusAccepted || served.Load() != 1 {
		t.Fatalf("leader announces the channel: %d, served here %d times; want 202, once", code, served.Load())
	}
	if code := post(forwardedHeader, "n9"); code != http.StatusServiceUnavailable || served.Load() != 1 {
		t.Fatalf("a forwarded request on a follower: %d, served here %d times; want 503 and not served", code, served.Load())
	}

	rec, _ := leader.fsm.Node("t1")
	rec.Commands = CommandVersions() // as a leader of a release without the channel announces
	if _, err := leader.Submit(context.Background(), TypeNodeMeta, rec); err != nil {
		t.Fatal(err)
	}
	awaitCond(t, 10*time.Second, "the follower applies the leader's record", func() bool { return !f.forwarder.ingest.leaderSpeaks() })
	// Proxied to the leader's HTTP address (unreachable here): 503, not served.
	if code := post(); code != http.StatusServiceUnavailable || served.Load() != 1 {
		t.Fatalf("leader without the channel: %d, served here %d times; want the proxy's 503", code, served.Load())
	}
	// And a submit that raced the change is refused with Retry-After, never sent.
	_, err = f.SubmitEvent(context.Background(), &incident.Event{Service: "checkout", Action: incident.ActionTrigger, DedupKey: "x"})
	var ra interface{ RetryAfter() time.Duration }
	if !errors.As(err, &ra) {
		t.Fatalf("forwarding submit with a leader without the channel: %v, want a RetryAfter error", err)
	}
}

// The leader's hand-written answer is what json.Marshal wrote before, so
// followers of every release read it as they did.
func TestForwardAnswerMatchesMarshal(t *testing.T) {
	check := func(t *testing.T, results []fwdResult) {
		want, err := json.Marshal(struct {
			Results []fwdResult `json:"results"`
		}{results})
		if err != nil {
			t.Fatal(err)
		}
		got, err := encodeForwardAnswer(results)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("encodeForwardAnswer: %v\n got %s\nwant %s", err, got, want)
		}
	}
	check(t, nil)
	check(t, []fwdResult{})
	check(t, []fwdResult{{}, {Incident: 7, DedupKey: "storm-1", Created: true},
		{Error: "cluster unavailable: \"x\" <&> \u2028 é \x01 \xff", RetryAfterMS: -5, Deadline: true},
		{DedupKey: "a<b", Incident: 1<<64 - 1, RetryAfterMS: 1000}})
}

func FuzzForwardAnswerMatchesMarshal(f *testing.F) {
	f.Add(uint64(7), "storm-1", true, "", int64(0), false)
	f.Add(uint64(0), "", false, "unavailable <&>", int64(1000), true)
	f.Fuzz(func(t *testing.T, inc uint64, key string, created bool, msg string, retry int64, deadline bool) {
		r := []fwdResult{{Incident: inc, DedupKey: key, Created: created, Error: msg, RetryAfterMS: retry, Deadline: deadline}}
		want, _ := json.Marshal(struct {
			Results []fwdResult `json:"results"`
		}{r})
		if got, _ := encodeForwardAnswer(r); !bytes.Equal(got, want) {
			t.Fatalf("got %s\nwant %s", got, want)
		}
	})
}

// BenchmarkEncodeForwardAnswer: the leader's answer to 16 forwarded
// triggers, by hand and as json.Marshal wrote it before.
func BenchmarkEncodeForwardAnswer(b *testing.B) {
	results := make([]fwdResult, 16)
	for i := range results {
		results[i] = fwdResult{Incident: uint64(100000 + i), DedupKey: "storm-" + strconv.Itoa(i), Created: true}
	}
	b.Run("Hand", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := encodeForwardAnswer(results); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Marshal", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := json.Marshal(struct {
				Results []fwdResult `json:"results"`
			}{results}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
