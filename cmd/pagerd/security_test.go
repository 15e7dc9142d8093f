package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSecurityFlags(t *testing.T) {
	if err := (securityFlags{tlsCert: "c", tlsKey: "k"}).check(); err == nil || !strings.Contains(err.Error(), "go together") {
		t.Fatalf("two of three TLS flags: %v", err)
	}
	if err := (securityFlags{tlsCert: "c", tlsKey: "k", tlsCA: "ca"}).check(); err != nil {
		t.Fatal(err)
	}
	env := func(v string) func(string) string { return func(string) string { return v } }
	got, err := securityFlags{}.clusterSecrets(env(" new-secret-0123456789 , old-secret-0123456789,"))
	if err != nil || len(got) != 2 || got[0] != "new-secret-0123456789" {
		t.Fatalf("secrets from the environment: %q %v", got, err)
	}
	if _, err := (securityFlags{}).clusterSecrets(env("short")); err == nil || !strings.Contains(err.Error(), "at least 16") {
		t.Fatalf("a short secret: %v", err)
	}
	file := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(file, []byte("file-secret-0123456789\n"), 0o600)
	got, err = securityFlags{secretFile: file}.clusterSecrets(env("env-secret-0123456789"))
	if err != nil || len(got) != 1 || got[0] != "file-secret-0123456789" {
		t.Fatalf("--cluster-secret-file wins over the environment: %q %v", got, err)
	}
	if _, err := (securityFlags{secretFile: file + ".missing"}).clusterSecrets(env("")); err == nil {
		t.Fatal("a missing secret file was accepted")
	}
}
