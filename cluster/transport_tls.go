package cluster

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// TLSFiles are the PEM files of --raft-tls-cert, --raft-tls-key and
// --raft-tls-ca. With them a node speaks Raft only over mutual TLS and signs
// its node-to-node HTTP requests with the same key: any certificate the CA
// signed is a member, anything else is not heard.
type TLSFiles struct {
	Cert, Key, CA string
}

// tlsReloadEvery bounds how often the files are looked at again. A renewed
// certificate (or a CA bundle with a second CA, during a CA rotation) is
// picked up within this, without a restart.
const tlsReloadEvery = time.Second

// tlsMaterial is one consistent load of the three files.
type tlsMaterial struct {
	cert  tls.Certificate // leaf first, then intermediates; with its key
	leaf  *x509.Certificate
	chain []*x509.Certificate // intermediates (cert[1:]) parsed
	pool  *x509.CertPool      // the CA bundle: who is a member
}

// tlsSource loads the files and reloads them when they change. A reload that
// fails (a half-written file, a key that does not match) keeps the last good
// material and is retried: a member must not drop out of its cluster because
// a renewal script wrote the certificate before the key.
type tlsSource struct {
	files TLSFiles
	onErr func(error)
	// refused counts Raft connections whose TLS handshake failed: a peer
	// without a CA-signed certificate, or not speaking TLS at all.
	refused prometheus.Counter

	mu      sync.Mutex
	cur     *tlsMaterial
	stamp   string // sizes and modification times of the files of cur
	checked time.Time
}

func newTLSSource(files TLSFiles, onErr func(error)) (*tlsSource, error) {
	if files.Cert == "" || files.Key == "" || files.CA == "" {
		return nil, errors.New("raft TLS needs all three of --raft-tls-cert, --raft-tls-key and --raft-tls-ca")
	}
	s := &tlsSource{files: files, onErr: onErr, refused: prometheus.NewCounter(prometheus.CounterOpts{
		Name: "pagerd_raft_tls_refused_total",
		Help: "Connections to the Raft port refused because their TLS handshake failed (no certificate from the cluster CA, or not TLS).",
	})}
	m, err := loadTLSMaterial(files)
	if err != nil {
		return nil, err
	}
	s.cur, s.stamp, s.checked = m, fileStamp(files), time.Now()
	return s, nil
}

// get returns the current material, reloading it if a file changed.
func (s *tlsSource) get() *tlsMaterial {
	s.mu.Lock()
	defer s.mu.Unlock()
	if time.Since(s.checked) < tlsReloadEvery {
		return s.cur
	}
	s.checked = time.Now()
	stamp := fileStamp(s.files)
	if stamp == s.stamp {
		return s.cur
	}
	m, err := loadTLSMaterial(s.files)
	if err != nil {
		if s.onErr != nil {
			s.onErr(fmt.Errorf("reload raft TLS files (keeping the previous ones): %w", err))
		}
		return s.cur
	}
	s.cur, s.stamp = m, stamp
	return m
}

func fileStamp(f TLSFiles) string {
	var out string
	for _, p := range []string{f.Cert, f.Key, f.CA} {
		if fi, err := os.Stat(p); err == nil {
			out += fmt.Sprintf("%d/%d;", fi.Size(), fi.ModTime().UnixNano())
		} else {
			out += "missing;"
		}
	}
	return out
}

// loadTLSMaterial reads the files and checks that this node's own
// certificate is one its peers will accept: signed by the CA and good for
// both ends of a connection (every member dials and is dialled). Finding
// that at start beats a cluster that silently never forms.
func loadTLSMaterial(f TLSFiles) (*tlsMaterial, error) {
	cert, err := tls.LoadX509KeyPair(f.Cert, f.Key)
	if err != nil {
		return nil, fmt.Errorf("raft TLS certificate %s with key %s: %w", f.Cert, f.Key, err)
	}
	caPEM, err := os.ReadFile(f.CA)
	if err != nil {
		return nil, fmt.Errorf("raft TLS CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("raft TLS CA %s: no PEM certificate in it", f.CA)
	}
	m := &tlsMaterial{cert: cert, pool: pool}
	for i, der := range cert.Certificate {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, fmt.Errorf("raft TLS certificate %s: %w", f.Cert, err)
		}
		if i == 0 {
			m.leaf = c
		} else {
			m.chain = append(m.chain, c)
		}
	}
	for _, usage := range []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth} {
		if err := m.verify(m.leaf, m.chain, usage); err != nil {
			return nil, fmt.Errorf("raft TLS certificate %s: %w", f.Cert, err)
		}
	}
	return m, nil
}

// verify checks a peer's chain against the CA bundle. Host names are not
// checked: the CA is the cluster's own, so its signature is the membership
// test (as Consul and Nomad do without verify_server_hostname). Node
// addresses change; the CA does not.
func (m *tlsMaterial) verify(leaf *x509.Certificate, intermediates []*x509.Certificate, usage x509.ExtKeyUsage) error {
	inter := x509.NewCertPool()
	for _, c := range intermediates {
		inter.AddCert(c)
	}
	_, err := leaf.Verify(x509.VerifyOptions{Roots: m.pool, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{usage}})
	if err != nil {
		return fmt.Errorf("not accepted by the cluster CA (subject %q): %w", leaf.Subject.String(), err)
	}
	return nil
}

// serverConfig is the listener's side: only a client with a certificate from
// the CA completes the handshake.
func (s *tlsSource) serverConfig() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			m := s.get()
			return &tls.Config{
				MinVersion:   tls.VersionTLS12,
				Certificates: []tls.Certificate{m.cert},
				ClientAuth:   tls.RequireAndVerifyClientCert,
				ClientCAs:    m.pool,
			}, nil
		},
	}
}

// clientConfig is the dialler's side: it shows its certificate and accepts
// the peer only if the CA signed the peer's.
func (s *tlsSource) clientConfig() *tls.Config {
	m := s.get()
	return &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{m.cert},
		// The chain is verified in VerifyConnection against the CA; only the
		// host-name check of the default verification is left out (see verify).
		InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("raft peer sent no certificate")
			}
			return m.verify(cs.PeerCertificates[0], cs.PeerCertificates[1:], x509.ExtKeyUsageServerAuth)
		},
	}
}

// encodeChain is this node's certificate chain, DER, for a signed request.
func (m *tlsMaterial) encodeChain() [][]byte { return m.cert.Certificate }
