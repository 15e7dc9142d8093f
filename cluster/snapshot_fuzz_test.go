package cluster

import (
	"bytes"
	"os"
	"testing"
)

// FuzzReadSnapshot: an operator's upload (PUT /v1/snapshot) is outside
// input; any bytes either decode or are refused, never panic.
func FuzzReadSnapshot(f *testing.F) {
	if data, err := os.ReadFile(golden1); err == nil {
		f.Add(data)
	}
	f.Add([]byte(`{"format":2,"last_now":"2026-01-01T00:00:00Z","config":null,"nodes":{}}` + "\n" +
		`{"state":{"base":0,"next_id":2}}` + "\n" + `{"incident":{"id":1,"status":"triggered"}}` + "\n" + `{"end":{"incidents":1,"records":2}}` + "\n"))
	f.Add([]byte(`{"format":2,"restore_staging_id":"x","restore_staging_chunks":1}` + "\n" + `{"restore_chunk":"AA=="}` + "\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _, _ = readSnapshot(bytes.NewReader(data))
	})
}
