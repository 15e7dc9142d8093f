package testcluster

import "testing"

// TestFreePortNeverRepeats: ports are bound only when a node starts, so a
// port handed out twice made two listeners of one cluster collide (seen as
// "bind: address already in use" for a node's Raft port in CI).
func TestFreePortNeverRepeats(t *testing.T) {
	seen := map[string]bool{}
	for range 2000 {
		addr := FreePort(t)
		if seen[addr] {
			t.Fatalf("FreePort returned %s twice", addr)
		}
		seen[addr] = true
	}
}
