package incident

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
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
		if err := checkStored(st); err != nil {
			return nil, fmt.Errorf("decode incident state (format 1): %w", err)
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

// ErrNotFormat1 says a state cannot be written in format 1: retention has
// removed incidents, and format 1 holds every id from 1 densely.
var ErrNotFormat1 = errors.New("the state has removed incidents, which snapshot format 1 cannot hold")

// EncodeFormat1 writes the view as snapshot format 1 for a cluster whose
// older members read only that (during a rolling upgrade). It streams too:
// the one JSON value is written piece by piece, one incident at a time.
func (f *Frozen) EncodeFormat1(w io.Writer) error {
	if f.base != 0 || slices.Contains(f.incidents, nil) {
		return ErrNotFormat1
	}
	bw := &errWriter{w: w}
	bw.str(`{"incidents":[`)
	var scratch storedIncident // reused: see storedIncident.fill
	for i, inc := range f.incidents {
		if i > 0 {
			bw.str(",")
		}
		scratch.fill(inc)
		bw.json(&scratch)
	}
	bw.str("]")
	if len(f.smsOff) > 0 {
		off := make(map[string]time.Time, len(f.smsOff))
		for _, r := range f.smsOff {
			off[r.Phone] = r.At
		}
		bw.str(`,"sms_off":`)
		bw.json(off)
	}
	if len(f.dedup) > 0 {
		bw.str(`,"dedup":`)
		bw.json(f.dedup)
	}
	if len(f.dropped) > 0 {
		bw.str(`,"dropped":`)
		bw.json(f.dropped)
	}
	bw.str("}\n")
	if bw.err != nil {
		return fmt.Errorf("encode incident state (format 1): %w", bw.err)
	}
	return nil
}

// errWriter keeps the first write error, so a sequence of writes is checked once.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) str(s string) {
	if e.err == nil {
		_, e.err = io.WriteString(e.w, s)
	}
}

func (e *errWriter) json(v any) {
	if e.err != nil {
		return
	}
	b, err := json.Marshal(v)
	if err != nil {
		e.err = err
		return
	}
	_, e.err = e.w.Write(b)
}
