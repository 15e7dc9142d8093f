package e2e

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"

	"github.com/pagerd/pagerd/incident"
	"github.com/pagerd/pagerd/internal/testcluster"
	"github.com/pagerd/pagerd/internal/testpki"
)

// Issue 12.5, a secured cluster: Raft over mutual TLS, node-to-node HTTP
// authenticated as a member (never with an API token), and the action
// fields only a node forwarding a reply may set.

// attackTerm is far above any term a test cluster reaches by its own
// elections, so "the term stayed below it" cannot be a natural election.
const attackTerm = 1_000_000

// voteStorm sends each Raft address a RequestVote with a term of attackTerm,
// as a process that is not a member would: hashicorp/raft's own
// NetworkTransport wire format, over stream (plain TCP when nil). It is a
// leadership-transfer vote without a candidate id, the one kind a member
// does not reject before adopting the higher term. It returns the error of
// each address ("" when a node answered).
func voteStorm(t *testing.T, stream raft.StreamLayer, addrs []string) []string {
	t.Helper()
	hlog := hclog.NewNullLogger()
	var trans *raft.NetworkTransport
	if stream == nil {
		var err error
		trans, err = raft.NewTCPTransportWithLogger("127.0.0.1:0", nil, 2, 3*time.Second, hlog)
		if err != nil {
			t.Fatal(err)
		}
	} else {
		trans = raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{Stream: stream, MaxPool: 2, Timeout: 3 * time.Second, Logger: hlog})
	}
	defer trans.Close()
	var errs []string
	for _, a := range addrs {
		req := &raft.RequestVoteRequest{
			RPCHeader:          raft.RPCHeader{ProtocolVersion: raft.ProtocolVersionMax, Addr: trans.EncodePeer("", trans.LocalAddr())},
			Term:               attackTerm,
			LastLogIndex:       1 << 40,
			LastLogTerm:        attackTerm - 1,
			LeadershipTransfer: true,
		}
		var resp raft.RequestVoteResponse
		if err := trans.RequestVote("", raft.ServerAddress(a), req, &resp); err != nil {
			errs = append(errs, err.Error())
		} else {
			errs = append(errs, "")
		}
	}
	return errs
}

// strangerStream dials with a certificate of a CA the cluster does not
// trust, as a fourth process with its own self-made certificate would.
type strangerStream struct {
	net.Listener
	cfg *tls.Config
}

func (s strangerStream) Dial(addr raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	return tls.DialWithDialer(&net.Dialer{Timeout: timeout}, "tcp", string(addr), s.cfg)
}

func newStrangerStream(t *testing.T, f testpki.Files) strangerStream {
	t.Helper()
	cert, err := tls.LoadX509KeyPair(f.Cert, f.Key)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return strangerStream{Listener: ln, cfg: &tls.Config{Certificates: []tls.Certificate{cert}, InsecureSkipVerify: true}}
}

func clusterStatus(t *testing.T, c *testcluster.Cluster, n *testcluster.Node) testcluster.Status {
	t.Helper()
	var st testcluster.Status
	if code := c.GetJSON(n, "/v1/cluster", &st); code != 200 {
		t.Fatalf("GET /v1/cluster on %s: %d", n.ID, code)
	}
	return st
}

// TestVoteStormDisturbsAPlainCluster is the control of the next test: the
// same RequestVote against a node without TLS does take its term and its
// leadership, so the probe is one that a secured cluster has to withstand.
func TestVoteStormDisturbsAPlainCluster(t *testing.T) {
	c := testcluster.Start(t, 1, testcluster.Options{})
	n := c.Nodes[0]
	before := clusterStatus(t, c, n)
	errs := voteStorm(t, nil, []string{n.RaftAddr})
	if errs[0] != "" {
		t.Fatalf("plain RequestVote: %s", errs[0])
	}
	c.WaitFor(10*time.Second, func() (bool, string) {
		st := clusterStatus(t, c, n)
		return st.Term >= attackTerm, fmt.Sprintf("term %d (was %d), want it pushed to %d by the stranger's vote", st.Term, before.Term, attackTerm)
	})
}

// TestSecuredClusterRefusesStrangers: a three-node cluster started with
// --raft-tls-* only (no cluster secret) forms, a process with a certificate
// from another CA can neither join nor move the cluster's term, and plain
// TCP gets nothing either.
func TestSecuredClusterRefusesStrangers(t *testing.T) {
	dir := t.TempDir()
	ca := testpki.NewCA(t, "pagerd-cluster-ca")
	member := ca.WriteNode(t, dir, "member")
	c := testcluster.Start(t, 3, testcluster.Options{
		ExtraArgs: member.Args(),
		// No cluster secret: the joins are signed with the certificate.
		Env: []string{"PAGERD_CLUSTER_SECRET="},
	})
	leader := c.Leader()
	before := clusterStatus(t, c, leader)
	var addrs []string
	for _, n := range c.Nodes {
		addrs = append(addrs, n.RaftAddr)
	}

	stranger := testpki.NewCA(t, "stranger-ca").WriteNode(t, dir, "n4")
	for name, stream := range map[string]raft.StreamLayer{"plain TCP": nil, "self-made certificate": newStrangerStream(t, stranger)} {
		for i, err := range voteStorm(t, stream, addrs) {
			if err == "" {
				t.Errorf("%s: %s answered a stranger's RequestVote", name, c.Nodes[i].ID)
			}
		}
	}

	// A fourth process with its own CA's certificate asks to join.
	n4 := startOutsideNode(t, "n4", stranger, leader)
	testcluster.WaitFor(t, 30*time.Second, func() (bool, string) {
		log := n4.log()
		return strings.Contains(log, "join attempt failed") && strings.Contains(log, "401"), "n4 log:\n" + log
	})
	if !strings.Contains(n4.log(), "cluster CA") {
		t.Errorf("the refusal does not say why (the cluster CA):\n%s", n4.log())
	}

	after := clusterStatus(t, c, c.Leader())
	if len(after.Nodes) != 3 {
		t.Errorf("members after the stranger: %+v, want the three", after.Nodes)
	}
	if after.Term >= attackTerm {
		t.Fatalf("term %d: a stranger's vote reached Raft", after.Term)
	}
	if after.Term == before.Term && after.Leader != before.Leader {
		t.Errorf("leader changed from %s to %s in the same term", before.Leader, after.Leader)
	}
	if after.Term != before.Term {
		// Under heavy load a natural election can happen; it is not the
		// stranger's doing (its term would be attackTerm).
		t.Logf("term moved from %d to %d by an election of the cluster's own", before.Term, after.Term)
	}
	// The secured cluster still commits, also what a follower takes: it
	// proxies the request through the TLS tunnel on the leader's Raft port.
	follower := c.Followers()[0]
	if code, body := c.Event(follower, "trigger", "after-stranger", "still here"); code != 202 {
		t.Fatalf("event through follower %s: %d %s", follower.ID, code, body)
	}
	if code, body := c.Do(follower, "POST", "/v1/incidents/1/ack", []byte(`{"note":"through the tunnel"}`), nil); code != 200 {
		t.Fatalf("ack through follower %s: %d %s", follower.ID, code, body)
	}

	// A node with a certificate from the cluster CA joins, through a
	// follower (which checks its signature and passes the join on).
	n5 := startOutsideNode(t, "n5", ca.WriteNode(t, dir, "n5"), c.Followers()[0])
	c.WaitFor(30*time.Second, func() (bool, string) {
		st := clusterStatus(t, c, c.Leader())
		for _, m := range st.Nodes {
			if m.ID == "n5" && m.Suffrage == "voter" {
				return true, ""
			}
		}
		return false, fmt.Sprintf("members %+v; n5 log:\n%s", st.Nodes, n5.log())
	})
}

type outsideProc struct {
	cmd     *exec.Cmd
	logPath string
}

func (p *outsideProc) log() string { b, _ := os.ReadFile(p.logPath); return string(b) }

// startOutsideNode runs a pagerd with an empty data dir and certificate f,
// joining through member's HTTP address.
func startOutsideNode(t *testing.T, id string, f testpki.Files, member *testcluster.Node) *outsideProc {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfg, []byte(testcluster.DefaultConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	p := &outsideProc{logPath: filepath.Join(dir, id+".log")}
	logf, err := os.Create(p.logPath)
	if err != nil {
		t.Fatal(err)
	}
	args := append([]string{"serve", "--config", cfg, "--data-dir", filepath.Join(dir, "data"), "--node-id", id,
		"--http-addr", testcluster.FreePort(t), "--raft-addr", testcluster.FreePort(t), "--join", member.URL()}, f.Args()...)
	p.cmd = exec.Command(testcluster.Binary(t), args...)
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	p.cmd.Env = append(os.Environ(), "PAGERD_CLUSTER_SECRET=")
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.cmd.Process.Kill(); p.cmd.Wait(); logf.Close() })
	return p
}

// TestTokenRotationKeepsFollowerRepliesWorking: node-to-node calls do not
// use API tokens, so after `config apply` replaces every API token an email
// reply taken by a follower's SMTP listener is still forwarded to the leader
// and acts, without a restart. (Before, followers forwarded with the admin
// token of their start-up config: 401, then 451 until restart.)
func TestTokenRotationKeepsFollowerRepliesWorking(t *testing.T) {
	t.Run("cluster secret", func(t *testing.T) { tokenRotation(t, testcluster.Options{}) })
	// With TLS the follower forwards through the tunnel on the leader's Raft port.
	t.Run("mutual TLS", func(t *testing.T) {
		files := testpki.NewCA(t, "pagerd-cluster-ca").WriteNode(t, t.TempDir(), "member")
		tokenRotation(t, testcluster.Options{ExtraArgs: files.Args(), Env: []string{"PAGERD_CLUSTER_SECRET="}})
	})
}

func tokenRotation(t *testing.T, opts testcluster.Options) {
	box := pgStartSMTP(t)
	cfg := fmt.Sprintf(pgConfig, "1h", box.addr, "http://127.0.0.1:1")
	opts.SMTP, opts.Config = true, cfg
	c := testcluster.Start(t, 3, opts)
	leader := c.Leader()
	pgTrigger(t, c, leader, "rotate-tokens", testcluster.EventsKey)
	replyTo, subject := rpPageEmail(t, c, box, "n1-1-0")

	// Chosen now: the harness's own calls use the old token.
	follower := c.Followers()[0]
	const newToken = "rotated-admin-token-2"
	path := filepath.Join(t.TempDir(), "rotated.yaml")
	if err := os.WriteFile(path, []byte(strings.Replace(cfg, testcluster.Token, newToken, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	// A loaded host can hold an election meanwhile: 503 is retried, as the
	// contract says a 5xx is transient.
	c.WaitFor(30*time.Second, func() (bool, string) {
		code, out := c.Run(leader, "config", "apply", path)
		return code == 0, fmt.Sprintf("config apply: %d %s", code, out)
	})
	auth := map[string]string{"Authorization": "Bearer " + newToken}
	c.WaitFor(20*time.Second, func() (bool, string) {
		code, _ := c.Do(follower, "GET", "/v1/incidents", nil, nil)
		return code == http.StatusUnauthorized, fmt.Sprintf("old token on %s: %d, want 401 once the new config is applied", follower.ID, code)
	})
	msg := rpReply("rotated-1@mail.example.com", "alice@example.com", replyTo, subject, "ack", "page")
	// A 451 (no leader for a moment) is retried as a mail server would; the
	// old code never got past it without a restart.
	c.WaitFor(30*time.Second, func() (bool, string) {
		code, out := rpSwaks(t, follower.SMTPAddr, "alice@example.com", replyTo, msg)
		return code == 0, fmt.Sprintf("reply to follower %s after the token rotation: swaks exit %d:\n%s", follower.ID, code, out)
	})
	code, body := c.Do(follower, "GET", "/v1/incidents?status=all&dedup_key=rotate-tokens", nil, auth)
	var list struct{ Incidents []incident.Incident }
	if code != 200 || json.Unmarshal(body, &list) != nil || len(list.Incidents) != 1 {
		t.Fatalf("list with the new token: %d %s", code, body)
	}
	// 250 came after the leader's commit; the follower may apply it a moment later.
	c.WaitFor(10*time.Second, func() (bool, string) {
		code, body := c.Do(follower, "GET", "/v1/incidents/"+strconv.FormatUint(list.Incidents[0].ID, 10), nil, auth)
		var inc incident.Incident
		json.Unmarshal(body, &inc)
		return code == 200 && inc.Status == incident.Acknowledged && inc.AcknowledgedBy == "alice",
			fmt.Sprintf("%d: %s by %q", code, inc.Status, inc.AcknowledgedBy)
	})
}

// nodeSigned signs a request as a member holding secret would (the
// node-to-node wire format of cluster/nodeauth.go).
func nodeSigned(t *testing.T, secret, node, method, url, body string) *http.Request {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	ts := time.Now().Unix()
	sum := sha256.Sum256([]byte(body))
	msg := strings.Join([]string{"pagerd-node-auth-v1", method, req.URL.RequestURI(), node, strconv.FormatInt(ts, 10), hex.EncodeToString(sum[:])}, "\n")
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(msg))
	req.Header.Set("X-Pagerd-Node-Auth", fmt.Sprintf("%s %d hmac %s", node, ts, base64.RawURLEncoding.EncodeToString(m.Sum(nil))))
	req.Header.Set("Content-Type", "application/json")
	return req
}

// TestAPITokensCannotSetInternalFields: an API token, of any scope, cannot
// set a reply's dedup_id or channel; a respond token cannot act as another
// user (an admin token can: the CLI's --as); node credentials open only what
// nodes need of each other. Refusals change nothing.
func TestAPITokensCannotSetInternalFields(t *testing.T) {
	c := testcluster.Start(t, 1, testcluster.Options{Config: authConfig})
	n := c.Nodes[0]
	if code, body := c.Event(n, "trigger", "fields-1", "disk full"); code != 202 {
		t.Fatalf("event: %d %s", code, body)
	}
	const admin = testcluster.Token
	rows := []authRow{
		{"respond sets dedup_id", "POST", "/v1/incidents/1/ack", respondToken, `{"dedup_id":"m1"}`, 403, "dedup_id: only a pagerd node"},
		{"admin sets dedup_id", "POST", "/v1/incidents/1/ack", admin, `{"dedup_id":"m1"}`, 403, "dedup_id: only a pagerd node"},
		{"respond claims the email channel", "POST", "/v1/incidents/1/ack", respondToken, `{"channel":"email"}`, 403, "channel: only a pagerd node"},
		{"admin claims the sms channel", "POST", "/v1/incidents/1/resolve", admin, `{"channel":"sms"}`, 403, "channel: only a pagerd node"},
		{"respond acts as alice", "POST", "/v1/incidents/1/ack", respondToken, `{"by":"alice"}`, 403, `by: token "bot" has scope respond`},
		{"respond notes as alice", "POST", "/v1/incidents/1/notes", respondToken, `{"by":"alice","note":"x"}`, 403, "needs an admin token"},
		{"respond sets a severity with a dedup_id", "POST", "/v1/incidents/1/severity", respondToken, `{"severity":"sev3","dedup_id":"m1"}`, 403, "dedup_id: only a pagerd node"},
		{"respond sets a severity as alice", "POST", "/v1/incidents/1/severity", respondToken, `{"severity":"sev3","by":"alice"}`, 403, "needs an admin token"},
		{"respond takes a role with a dedup_id", "PUT", "/v1/incidents/1/roles/tech_lead", respondToken, `{"user":"alice","dedup_id":"m1"}`, 403, "dedup_id: only a pagerd node"},
		{"respond hands a role over as alice", "PUT", "/v1/incidents/1/roles/tech_lead", respondToken, `{"user":"alice","by":"alice"}`, 403, "needs an admin token"},
		{"respond makes an override as alice", "POST", "/v1/schedules/web/overrides", respondToken,
			`{"from":"2026-12-01T00:00:00Z","to":"2026-12-02T00:00:00Z","user":"alice","by":"alice"}`, 403, "needs an admin token"},
		{"forged node credentials", "POST", "/v1/incidents/1/ack", "", `{"dedup_id":"m1"}`, 401, "node credentials"},
		// Allowed: naming itself, the api channel, and an admin acting as a user.
		{"respond notes as itself", "POST", "/v1/incidents/1/notes", respondToken, `{"by":"bot","note":"looking","channel":"api"}`, 200, ""},
	}
	for _, row := range rows {
		var code int
		var body []byte
		if row.name == "forged node credentials" {
			req, _ := http.NewRequest(row.method, n.URL()+row.path, strings.NewReader(row.body))
			req.Header.Set("X-Pagerd-Node-Auth", fmt.Sprintf("n1 %d hmac AAAA", time.Now().Unix()))
			code, body = send(t, req)
		} else {
			code, body = doAs(t, n, row)
		}
		checkRow(t, row, code, body)
	}
	inc := pgIncident(t, c, n, "fields-1")
	if inc.Status != incident.Triggered {
		t.Fatalf("refused requests changed the incident: %s by %q", inc.Status, inc.AcknowledgedBy)
	}

	// A member's credentials: the forwarded reply's fields are accepted...
	req := nodeSigned(t, testcluster.ClusterSecret, "n2", "POST", n.URL()+"/v1/incidents/1/ack", `{"by":"alice","channel":"email","dedup_id":"msg-1","note":"ack"}`)
	code, body := send(t, req)
	if code != 200 {
		t.Fatalf("node-signed ack: %d %s", code, body)
	}
	inc = pgIncident(t, c, n, "fields-1")
	if inc.Status != incident.Acknowledged || inc.AcknowledgedBy != "alice" {
		t.Fatalf("after the node-signed ack: %s by %q", inc.Status, inc.AcknowledgedBy)
	}
	// ...but they open nothing else, and a wrong secret opens nothing.
	code, body = send(t, nodeSigned(t, testcluster.ClusterSecret, "n2", "GET", n.URL()+"/v1/config", ""))
	checkRow(t, authRow{"node reads the config", "GET", "/v1/config", "", "", 403, "node credentials are for joining and forwarding replies only"}, code, body)
	joinN9 := `{"id":"n9","raft_addr":"127.0.0.1:1","http_addr":"127.0.0.1:2"}`
	code, body = send(t, nodeSigned(t, testcluster.ClusterSecret, "n2", "POST", n.URL()+"/v1/cluster/join", joinN9))
	checkRow(t, authRow{"node joins another id", "POST", "/v1/cluster/join", "", joinN9, 403, `node "n2" may join only itself`}, code, body)
	code, body = send(t, nodeSigned(t, "a-guessed-secret-0000", "n2", "POST", n.URL()+"/v1/incidents/1/resolve", "{}"))
	checkRow(t, authRow{"wrong cluster secret", "POST", "/v1/incidents/1/resolve", "", "{}", 401, "cluster secret not accepted"}, code, body)

	// The CLI: --as with an admin token records the user; with a respond
	// token it is refused with the reason, exit 1.
	if code, out := c.Run(n, "resolve", "1", "--as", "bob", "--token", respondToken); code != 1 || !strings.Contains(out, "needs an admin token") {
		t.Fatalf("resolve --as bob with a respond token: exit %d %s", code, out)
	}
	if code, out := c.Run(n, "resolve", "1", "--as", "bob"); code != 0 {
		t.Fatalf("resolve --as bob with the admin token: exit %d %s", code, out)
	}
	if inc := pgIncident(t, c, n, "fields-1"); inc.Status != incident.Resolved || inc.ResolvedBy != "bob" {
		t.Fatalf("after resolve --as bob: %s by %q", inc.Status, inc.ResolvedBy)
	}
}

func send(t *testing.T, req *http.Request) (int, []byte) {
	t.Helper()
	resp, err := (&http.Client{Timeout: 20 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 32<<10)
	for {
		k, err := resp.Body.Read(buf)
		b.Write(buf[:k])
		if err != nil {
			break
		}
	}
	return resp.StatusCode, []byte(b.String())
}

// checkRow compares an answer with a table row (code and error text).
func checkRow(t *testing.T, row authRow, code int, body []byte) {
	t.Helper()
	if code != row.code {
		t.Errorf("%s: %s %s: got %d, want %d: %.300s", row.name, row.method, row.path, code, row.code, body)
		return
	}
	if row.msg == "" {
		return
	}
	var e struct{ Error string }
	if err := json.Unmarshal(body, &e); err != nil || !strings.Contains(e.Error, row.msg) {
		t.Errorf("%s: error %q (body %.300s), want it to contain %q", row.name, e.Error, body, row.msg)
	}
}
