package cluster

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Node-to-node HTTP requests (a joiner's POST /v1/cluster/join, a follower
// forwarding an email or SMS reply to the leader) are authenticated as a
// cluster member, never with an API token: API tokens belong to people and
// tools and are rotated by `config apply`, which must not cut the cluster
// off from itself.
//
// The request carries NodeAuthHeader: "<node id> <unix seconds> <scheme>
// <signature>", the signature covering the method, the path and query, the
// node id, the time and the SHA-256 of the body, so a captured header is good
// for that one request for nodeAuthWindow only. Schemes:
//
//   - cert: with --raft-tls-*; signed with the node's TLS key, its
//     certificate chain in NodeCertHeader; accepted if the cluster CA signed it.
//   - hmac: HMAC-SHA256 with the cluster secret (PAGERD_CLUSTER_SECRET or
//     --cluster-secret-file; several, comma-separated, during a rotation: the
//     first signs, any verifies), or, with neither TLS nor a secret, a key
//     derived from the replicated reply keyring, which only members hold (so
//     members can forward replies, but a new node cannot join without TLS or
//     a secret).
const (
	NodeAuthHeader = "X-Pagerd-Node-Auth"
	NodeCertHeader = "X-Pagerd-Node-Cert"
)

// nodeAuthWindow is how far a signed request's time may be from the
// verifier's clock: clock skew between members plus the request's transit.
const nodeAuthWindow = 5 * time.Minute

// maxNodeBody bounds the body a node-signed request may carry (join and reply
// forwarding bodies are tiny).
const maxNodeBody = 1 << 20

// ErrNoLeader means there is no known leader to send a request to now.
var ErrNoLeader = errors.New("no cluster leader")

// errNoCredential is a node that has neither TLS files, nor a cluster secret,
// nor yet the replicated keyring.
var errNoCredential = errors.New("this node has no cluster credential: start it with --raft-tls-cert/--raft-tls-key/--raft-tls-ca or a cluster secret (PAGERD_CLUSTER_SECRET or --cluster-secret-file)")

// nodeAuthDerivation labels the key derived from a reply-keyring secret, so
// it never equals a key used for reply tokens.
const nodeAuthDerivation = "pagerd node-to-node authentication v1"

func nodeAuthMessage(method, uri, node string, ts int64, body []byte) []byte {
	sum := sha256.Sum256(body)
	return []byte(strings.Join([]string{"pagerd-node-auth-v1", method, uri, node, strconv.FormatInt(ts, 10), hex.EncodeToString(sum[:])}, "\n"))
}

// HasNodeCredential reports whether this node can sign node-to-node
// requests that a fresh cluster will accept (a joiner needs this).
func (n *Node) HasNodeCredential() bool { return n.tls != nil || len(n.opts.ClusterSecrets) > 0 }

// signNodeRequest adds this node's credentials to req, whose body is body.
func (n *Node) signNodeRequest(req *http.Request, body []byte) error {
	ts := n.opts.Clock().Unix()
	msg := nodeAuthMessage(req.Method, req.URL.RequestURI(), n.opts.NodeID, ts, body)
	scheme, sig, err := n.nodeSignature(req, msg)
	if err != nil {
		return err
	}
	req.Header.Set(NodeAuthHeader, fmt.Sprintf("%s %d %s %s", n.opts.NodeID, ts, scheme, base64.RawURLEncoding.EncodeToString(sig)))
	return nil
}

func (n *Node) nodeSignature(req *http.Request, msg []byte) (string, []byte, error) {
	if n.tls != nil {
		m := n.tls.get()
		sig, err := signWithKey(m.cert.PrivateKey, msg)
		if err != nil {
			return "", nil, err
		}
		parts := make([]string, 0, len(m.cert.Certificate))
		for _, der := range m.encodeChain() {
			parts = append(parts, base64.RawURLEncoding.EncodeToString(der))
		}
		req.Header.Set(NodeCertHeader, strings.Join(parts, "."))
		return "cert", sig, nil
	}
	keys := n.hmacKeys()
	if len(keys) == 0 {
		return "", nil, errNoCredential
	}
	return "hmac", hmacOf(keys[0], msg), nil
}

// hmacKeys are the keys this node signs (first) and verifies hmac requests
// with: the configured cluster secrets, else keys derived from the
// replicated reply keyring (newest first).
func (n *Node) hmacKeys() [][]byte {
	var keys [][]byte
	for _, s := range n.opts.ClusterSecrets {
		keys = append(keys, []byte(s))
	}
	if len(keys) > 0 {
		return keys
	}
	ring := n.fsm.Keyring().Keys
	for i := len(ring) - 1; i >= 0; i-- {
		keys = append(keys, hmacOf(ring[i].Secret, []byte(nodeAuthDerivation)))
	}
	return keys
}

func hmacOf(key, msg []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(msg)
	return m.Sum(nil)
}

// signWithKey signs msg with a TLS private key: SHA-256 digest for RSA
// (PKCS #1 v1.5) and ECDSA, the message itself for Ed25519, matching what
// x509.Certificate.CheckSignature verifies for those algorithms.
func signWithKey(key crypto.PrivateKey, msg []byte) ([]byte, error) {
	switch k := key.(type) {
	case ed25519.PrivateKey:
		return k.Sign(rand.Reader, msg, crypto.Hash(0))
	case *ecdsa.PrivateKey, *rsa.PrivateKey:
		digest := sha256.Sum256(msg)
		return k.(crypto.Signer).Sign(rand.Reader, digest[:], crypto.SHA256)
	}
	return nil, fmt.Errorf("raft TLS key of type %T cannot sign node requests (want RSA, ECDSA or Ed25519)", key)
}

func signatureAlgorithm(c *x509.Certificate) (x509.SignatureAlgorithm, error) {
	switch c.PublicKeyAlgorithm {
	case x509.RSA:
		return x509.SHA256WithRSA, nil
	case x509.ECDSA:
		return x509.ECDSAWithSHA256, nil
	case x509.Ed25519:
		return x509.PureEd25519, nil
	}
	return 0, fmt.Errorf("certificate key algorithm %v not supported", c.PublicKeyAlgorithm)
}

// VerifyNodeRequest checks the node credentials of r (NodeAuthHeader) and
// returns the member's node id. It reads the body (at most 1 MiB) and puts
// it back, so the handler, or the forwarder to the leader, still has it.
func (n *Node) VerifyNodeRequest(r *http.Request) (string, error) {
	node, body, err := n.verifyNodeRequestBody(r, maxNodeBody)
	if err != nil {
		return "", err
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	return node, nil
}

// verifyNodeRequestBody checks the node credentials of r and returns the
// member's node id and the body (at most limit bytes) they cover.
func (n *Node) verifyNodeRequestBody(r *http.Request, limit int64) (string, []byte, error) {
	node, ts, scheme, sig, err := parseNodeAuth(r.Header.Get(NodeAuthHeader))
	if err != nil {
		return "", nil, err
	}
	if skew := n.opts.Clock().Sub(time.Unix(ts, 0)); skew > nodeAuthWindow || skew < -nodeAuthWindow {
		return "", nil, fmt.Errorf("node %q: signed at %s, more than %v from this node's clock (check NTP)", node, time.Unix(ts, 0).UTC().Format(time.RFC3339), nodeAuthWindow)
	}
	body, err := readBodyUpTo(r, limit)
	if err != nil {
		return "", nil, err
	}
	msg := nodeAuthMessage(r.Method, r.URL.RequestURI(), node, ts, body)
	switch scheme {
	case "cert":
		return node, body, n.verifyCertSignature(r.Header.Get(NodeCertHeader), msg, sig)
	case "hmac":
		for _, k := range n.hmacKeys() {
			if hmac.Equal(hmacOf(k, msg), sig) {
				return node, body, nil
			}
		}
		if len(n.opts.ClusterSecrets) == 0 {
			return "", nil, fmt.Errorf("node %q: cluster secret not accepted (this node has no cluster secret configured)", node)
		}
		return "", nil, fmt.Errorf("node %q: cluster secret not accepted (signature does not match any configured secret)", node)
	}
	return "", nil, fmt.Errorf("node %q: unknown scheme %q (want cert or hmac)", node, scheme)
}

// readBodyUpTo reads r's body, refusing one over limit bytes; a body of
// announced length is read into one buffer of that size.
func readBodyUpTo(r *http.Request, limit int64) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, fmt.Errorf("body over %d bytes", limit)
	}
	var body []byte
	var err error
	if r.ContentLength > 0 {
		body = make([]byte, r.ContentLength)
		_, err = io.ReadFull(r.Body, body)
	} else {
		body, err = io.ReadAll(io.LimitReader(r.Body, limit+1))
	}
	if err != nil {
		return nil, fmt.Errorf("read body: %w", err)
	}
	if int64(len(body)) > limit {
		return nil, fmt.Errorf("body over %d bytes", limit)
	}
	return body, nil
}

func (n *Node) verifyCertSignature(chainHeader string, msg, sig []byte) error {
	if n.tls == nil {
		return errors.New("certificate credentials, but this node has no --raft-tls-ca to check them against")
	}
	var certs []*x509.Certificate
	for _, part := range strings.Split(chainHeader, ".") {
		der, err := base64.RawURLEncoding.DecodeString(part)
		if err != nil {
			return fmt.Errorf("%s: %w", NodeCertHeader, err)
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return fmt.Errorf("%s: %w", NodeCertHeader, err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return fmt.Errorf("%s: no certificate", NodeCertHeader)
	}
	if err := n.tls.get().verify(certs[0], certs[1:], x509.ExtKeyUsageClientAuth); err != nil {
		return err
	}
	alg, err := signatureAlgorithm(certs[0])
	if err != nil {
		return err
	}
	if err := certs[0].CheckSignature(alg, msg, sig); err != nil {
		return fmt.Errorf("signature does not match the certificate: %w", err)
	}
	return nil
}

func parseNodeAuth(h string) (node string, ts int64, scheme string, sig []byte, err error) {
	f := strings.Fields(h)
	if len(f) != 4 {
		return "", 0, "", nil, fmt.Errorf("%s: want \"NODE UNIXTIME SCHEME SIGNATURE\"", NodeAuthHeader)
	}
	ts, err = strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		return "", 0, "", nil, fmt.Errorf("%s: time %q is not a number", NodeAuthHeader, f[1])
	}
	sig, err = base64.RawURLEncoding.DecodeString(f[3])
	if err != nil {
		return "", 0, "", nil, fmt.Errorf("%s: signature: %w", NodeAuthHeader, err)
	}
	return f[0], ts, f[2], sig, nil
}

// NodeRequest builds a node-to-node request to baseURL+path, signed with
// this node's cluster credentials and marked as forwarded (so a node that is
// no longer leader answers 503 instead of passing it on again).
func (n *Node) NodeRequest(ctx context.Context, method, baseURL, path string, body []byte) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(normalizeURL(baseURL), "/")+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	if len(body) > 0 {
		req.Header.Set("Content-Type", "application/json")
	}
	if err := n.signNodeRequest(req, body); err != nil {
		return nil, err
	}
	return req, nil
}

// LeaderRequest is NodeRequest to the current leader's HTTP API, to send
// with NodeTransport (through the TLS tunnel when there is one); the error is
// ErrNoLeader while there is none.
func (n *Node) LeaderRequest(ctx context.Context, method, path string, body []byte) (*http.Request, error) {
	base, ok := n.leaderBase()
	if !ok {
		return nil, ErrNoLeader
	}
	req, err := n.NodeRequest(ctx, method, base, path, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set(forwardedHeader, n.opts.NodeID)
	return req, nil
}
