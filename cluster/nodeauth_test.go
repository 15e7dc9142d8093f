package cluster

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pagerd/pagerd/internal/testpki"
	"github.com/pagerd/pagerd/reply"
)

func authNode(id string, now time.Time, src *tlsSource, secrets ...string) *Node {
	return &Node{opts: Options{NodeID: id, Clock: func() time.Time { return now }, ClusterSecrets: secrets}, fsm: NewFSM(nil), tls: src}
}

func signed(t *testing.T, n *Node, body string) *http.Request {
	t.Helper()
	req, err := n.NodeRequest(context.Background(), http.MethodPost, "http://127.0.0.1:1", "/v1/incidents/1/ack", []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	// As the receiving server sees it.
	in, _ := http.NewRequest(req.Method, req.URL.RequestURI(), req.Body)
	in.Header = req.Header
	return in
}

func TestNodeAuthClusterSecret(t *testing.T) {
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	leader := authNode("n1", now, nil, "new-secret-0123456789", "old-secret-0123456789")
	body := `{"by":"alice","channel":"email","dedup_id":"m1"}`

	id, err := leader.VerifyNodeRequest(signed(t, authNode("n2", now, nil, "old-secret-0123456789"), body))
	if err != nil || id != "n2" {
		t.Fatalf("a secret still in the list (rotation): %q %v", id, err)
	}
	r := signed(t, authNode("n2", now, nil, "new-secret-0123456789"), body)
	if _, err := leader.VerifyNodeRequest(r); err != nil {
		t.Fatal(err)
	}
	if b, _ := io.ReadAll(r.Body); string(b) != body {
		t.Fatalf("the body was not put back: %q", b)
	}
	cases := map[string]func(*http.Request){
		"wrong secret": nil,
		"body changed": func(r *http.Request) { r.Body = io.NopCloser(strings.NewReader(`{"by":"mallory"}`)) },
		"path changed": func(r *http.Request) { r.URL.Path = "/v1/incidents/2/resolve" },
		"no header":    func(r *http.Request) { r.Header.Del(NodeAuthHeader) },
	}
	for name, tamper := range cases {
		signer := authNode("n2", now, nil, "new-secret-0123456789")
		if tamper == nil {
			signer = authNode("n2", now, nil, "guessed-secret-0123456789")
		}
		r := signed(t, signer, body)
		if tamper != nil {
			tamper(r)
		}
		if _, err := leader.VerifyNodeRequest(r); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	stale := signed(t, authNode("n2", now.Add(-6*time.Minute), nil, "new-secret-0123456789"), body)
	if _, err := leader.VerifyNodeRequest(stale); err == nil || !strings.Contains(err.Error(), "clock") {
		t.Errorf("a request signed 6 minutes ago: %v, want refused naming the clock", err)
	}
}

// TestNodeAuthWithoutSecretUsesKeyring: members of a cluster without TLS or
// a secret still authenticate each other with a key only replicated state
// holds; a node without that state has no credential at all.
func TestNodeAuthWithoutSecretUsesKeyring(t *testing.T) {
	now := time.Now()
	stranger := authNode("n9", now, nil)
	if _, err := stranger.NodeRequest(context.Background(), http.MethodPost, "x", "/v1/cluster/join", nil); err == nil {
		t.Fatal("a node with no credential signed a request")
	}
	ring := reply.Keyring{Keys: []reply.Key{{ID: 1, Secret: []byte(strings.Repeat("k", 32))}}}
	leader, follower := authNode("n1", now, nil), authNode("n2", now, nil)
	for _, n := range []*Node{leader, follower} {
		n.fsm.keyring = ring
	}
	if _, err := leader.VerifyNodeRequest(signed(t, follower, `{}`)); err != nil {
		t.Fatalf("keyring-derived credential: %v", err)
	}
	forger := authNode("n3", now, nil, "some-secret-0123456789")
	if _, err := leader.VerifyNodeRequest(signed(t, forger, `{}`)); err == nil {
		t.Fatal("a secret the leader does not hold was accepted")
	}
}

func TestNodeAuthCertificates(t *testing.T) {
	now := time.Now()
	ca := testpki.NewCA(t, "cluster-ca")
	leader := authNode("n1", now, tlsFixture(t, ca, "n1"))
	member := authNode("n2", now, tlsFixture(t, ca, "n2"))
	body := `{"id":"n2","raft_addr":"127.0.0.1:7002"}`
	if id, err := leader.VerifyNodeRequest(signed(t, member, body)); err != nil || id != "n2" {
		t.Fatalf("member: %q %v", id, err)
	}
	stranger := authNode("n4", now, tlsFixture(t, testpki.NewCA(t, "other-ca"), "n4"))
	if _, err := leader.VerifyNodeRequest(signed(t, stranger, body)); err == nil || !strings.Contains(err.Error(), "cluster CA") {
		t.Fatalf("stranger: %v, want refused by the cluster CA", err)
	}
	// A member's certificate with a signature by another key.
	r := signed(t, stranger, body)
	r.Header.Set(NodeCertHeader, signed(t, member, body).Header.Get(NodeCertHeader))
	if _, err := leader.VerifyNodeRequest(r); err == nil || !strings.Contains(err.Error(), "signature") {
		t.Fatalf("a member's certificate with a stranger's signature: %v", err)
	}
}

func FuzzParseNodeAuth(f *testing.F) {
	f.Add("n1 1764417600 hmac AAAA")
	f.Add("n1 x cert !!")
	f.Fuzz(func(t *testing.T, h string) {
		node, _, scheme, _, err := parseNodeAuth(h)
		if err == nil && (node == "" || scheme == "") {
			t.Fatalf("accepted %q with an empty field", h)
		}
	})
}

// FuzzVerifyNodeRequest: whatever a client puts in the node headers and
// body, verification answers an error or a member, never panics, and never
// accepts without the secret.
func FuzzVerifyNodeRequest(f *testing.F) {
	f.Add("n2 1764417600 hmac AAAA", "", "{}")
	f.Add("n2 1764417600 cert AAAA", "AAAA.BBBB", "{}")
	f.Add("n2 1764417600 cert AAAA", "", "")
	now := time.Unix(1764417600, 0)
	ca := testpki.NewCA(f, "cluster-ca")
	dir := f.TempDir()
	files := ca.WriteNode(f, dir, "n1")
	src, err := newTLSSource(TLSFiles{Cert: files.Cert, Key: files.Key, CA: files.CA}, nil)
	if err != nil {
		f.Fatal(err)
	}
	leader := authNode("n1", now, src, "the-cluster-secret-0123")
	f.Fuzz(func(t *testing.T, auth, chain, body string) {
		r, _ := http.NewRequest(http.MethodPost, "/v1/cluster/join", strings.NewReader(body))
		r.Header.Set(NodeAuthHeader, auth)
		r.Header.Set(NodeCertHeader, chain)
		if id, err := leader.VerifyNodeRequest(r); err == nil {
			t.Fatalf("accepted %q as %q", auth, id)
		}
	})
}
