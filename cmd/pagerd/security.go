package main

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/pagerd/pagerd/cluster"
)

// securityFlags are how a node proves to the others that it is a member
// (docs/operations.md, "Threat model"): mutual TLS on the Raft port, whose
// certificate also signs node-to-node HTTP requests, or, without TLS, a
// cluster secret shared by every member.
type securityFlags struct {
	tlsCert, tlsKey, tlsCA string
	secretFile             string
}

// clusterSecretEnv holds the cluster secret (several, comma-separated, while
// rotating: the first signs, every one is accepted).
const clusterSecretEnv = "PAGERD_CLUSTER_SECRET"

// devClusterSecret is what --dev nodes without TLS or a secret of their own
// share, so the README's three-node --dev cluster joins with no setup. It is
// public: a --dev cluster is not protected from anyone who reaches its ports.
const devClusterSecret = "pagerd-dev-cluster-secret-not-secret"

// minClusterSecretLen keeps a guessable secret out.
const minClusterSecretLen = 16

func addSecurityFlags(fs *flag.FlagSet, f *securityFlags) {
	fs.StringVar(&f.tlsCert, "raft-tls-cert", "", "PEM certificate of this node, signed by --raft-tls-ca (Raft over mutual TLS)")
	fs.StringVar(&f.tlsKey, "raft-tls-key", "", "PEM private key of --raft-tls-cert")
	fs.StringVar(&f.tlsCA, "raft-tls-ca", "", "PEM CA bundle: only peers with a certificate from it are heard")
	fs.StringVar(&f.secretFile, "cluster-secret-file", "", "file holding the cluster secret for node-to-node HTTP without TLS (or set $"+clusterSecretEnv+")")
}

// check refuses a partial TLS setup: a node with only some of the three
// files would silently run Raft in the clear.
func (f securityFlags) check() error {
	set := 0
	for _, v := range []string{f.tlsCert, f.tlsKey, f.tlsCA} {
		if v != "" {
			set++
		}
	}
	if set != 0 && set != 3 {
		return usagef("--raft-tls-cert, --raft-tls-key and --raft-tls-ca go together: give all three or none")
	}
	return nil
}

func (f securityFlags) tlsFiles() *cluster.TLSFiles {
	if f.tlsCert == "" {
		return nil
	}
	return &cluster.TLSFiles{Cert: f.tlsCert, Key: f.tlsKey, CA: f.tlsCA}
}

// clusterSecrets reads the cluster secret from --cluster-secret-file, else
// $PAGERD_CLUSTER_SECRET. Not a flag value: those show in `ps`.
func (f securityFlags) clusterSecrets(getenv func(string) string) ([]string, error) {
	raw, from := getenv(clusterSecretEnv), "$"+clusterSecretEnv
	if f.secretFile != "" {
		b, err := os.ReadFile(f.secretFile)
		if err != nil {
			return nil, fmt.Errorf("--cluster-secret-file: %w", err)
		}
		raw, from = string(b), f.secretFile
	}
	var out []string
	for _, s := range strings.Split(raw, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if len(s) < minClusterSecretLen {
			return nil, fmt.Errorf("%s: each cluster secret must be at least %d characters (try: openssl rand -hex 32)", from, minClusterSecretLen)
		}
		out = append(out, s)
	}
	return out, nil
}
