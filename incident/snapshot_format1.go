package incident

import (
	"encoding/json"
	"fmt"
	"io"
	"time"
)

// snapshotFormat1 is the incident state as snapshot format 1 wrote it: one
// JSON value holding every incident (then the API type, whose JSON names the
// stored types keep). Read only, for snapshots and backups taken by earlier
// releases; decoding it buffers the whole value, as writing it did.
type snapshotFormat1 struct {
	Incidents []*storedIncident    `json:"incidents"`
	SMSOff    map[string]time.Time `json:"sms_off,omitempty"`
	Dedup     []dedupRecord        `json:"dedup,omitempty"`
	Dropped   []droppedRecord      `json:"dropped,omitempty"`
}

// ReadSnapshotFormat1 decodes the incident state of a format-1 snapshot.
func ReadSnapshotFormat1(r io.Reader) (*State, error) {
	var snap snapshotFormat1
	if err := json.NewDecoder(r).Decode(&snap); err != nil {
		return nil, fmt.Errorf("decode incident state (format 1): %w", err)
	}
	s := NewState()
	for i, st := range snap.Incidents {
		if st == nil || st.ID != uint64(i+1) {
			return nil, fmt.Errorf("decode incident state (format 1): incident at position %d has id %v", i, st)
		}
		inc := fromStored(st)
		s.incidents = append(s.incidents, inc)
		s.index(inc)
	}
	for phone, at := range snap.SMSOff {
		s.smsOff[phone] = at
	}
	for _, d := range snap.Dedup {
		s.remember(d.ID, d.Incident)
		if d.Refused != "" {
			s.dedupRefused[d.ID] = d.Refused
		}
	}
	for _, d := range snap.Dropped {
		s.restoreDropped(d)
	}
	return s, nil
}
