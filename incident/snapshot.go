package incident

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"time"
)

// The incident state is written as a stream of records, one JSON value per
// line, never as one value: encoding/json buffers a whole value before
// writing it, and one value of 100k incidents is hundreds of megabytes on
// the leader (issue 12.3). The stream is:
//
//	{"state":{...}}      base and next id (first)
//	{"incident":{...}}   one per kept incident, ascending id
//	{"sms_off":{...}}    one per phone that sent STOP
//	{"dedup":{...}}      one per remembered reply id, oldest first
//	{"dropped":{...}}    one per open incident past MaxAlerts
//	{"end":{...}}        record counts (last), so a cut stream is refused
//
// Decoding reads one record at a time.
type record struct {
	State    *stateRecord    `json:"state,omitempty"`
	Incident *storedIncident `json:"incident,omitempty"`
	SMSOff   *smsOffRecord   `json:"sms_off,omitempty"`
	Dedup    *dedupRecord    `json:"dedup,omitempty"`
	Dropped  *droppedRecord  `json:"dropped,omitempty"`
	End      *endRecord      `json:"end,omitempty"`
}

type stateRecord struct {
	// Base: ids up to it were all removed by retention.
	Base   uint64 `json:"base"`
	NextID uint64 `json:"next_id"`
}

type smsOffRecord struct {
	Phone string    `json:"phone"`
	At    time.Time `json:"at"`
}

type endRecord struct {
	Incidents int `json:"incidents"`
	Records   int `json:"records"` // every record before this one
}

type droppedRecord struct {
	Incident     uint64   `json:"incident"`
	Fingerprints []uint64 `json:"fingerprints"` // FNV-64a hashes, ascending
}

type dedupRecord struct {
	ID       string `json:"id"`
	Incident uint64 `json:"incident,omitempty"`
	Refused  string `json:"refused,omitempty"` // the first delivery's refusal
}

// Frozen is a point-in-time view of a State that stays unchanged while the
// state goes on applying: Freeze is O(incidents) pointer copies, and
// changes after it copy the incident they touch (State.own).
type Frozen struct {
	base      uint64
	incidents []*Incident // nil where retention removed one
	smsOff    []smsOffRecord
	dedup     []dedupRecord
	dropped   []droppedRecord
}

// Freeze takes the view. The caller must hold off writers during the call
// only, not while the view is encoded.
func (s *State) Freeze() *Frozen {
	s.gen++
	f := &Frozen{base: s.base, incidents: slices.Clone(s.incidents), dedup: make([]dedupRecord, len(s.dedupOrder)),
		dropped: s.droppedRecords()}
	for _, phone := range slices.Sorted(maps.Keys(s.smsOff)) {
		f.smsOff = append(f.smsOff, smsOffRecord{Phone: phone, At: s.smsOff[phone]})
	}
	for i, id := range s.dedupOrder {
		f.dedup[i] = dedupRecord{ID: id, Incident: s.dedup[id], Refused: s.dedupRefused[id]}
	}
	return f
}

// WriteSnapshot encodes the whole state as a record stream.
func (s *State) WriteSnapshot(w io.Writer) error {
	bw := bufio.NewWriter(w)
	if err := s.Freeze().Encode(bw); err != nil {
		return err
	}
	return bw.Flush()
}

// Encode writes the view as the record stream DecodeStream reads, one
// record at a time: memory stays at one incident's encoding.
func (f *Frozen) Encode(w io.Writer) error {
	enc := json.NewEncoder(w)
	n, kept := 0, 0
	put := func(r record) error {
		n++
		if err := enc.Encode(r); err != nil {
			return fmt.Errorf("encode incident state record %d: %w", n, err)
		}
		return nil
	}
	if err := put(record{State: &stateRecord{Base: f.base, NextID: f.base + uint64(len(f.incidents)) + 1}}); err != nil {
		return err
	}
	var scratch storedIncident // reused: see storedIncident.fill
	for _, inc := range f.incidents {
		if inc == nil {
			continue
		}
		kept++
		scratch.fill(inc)
		if err := put(record{Incident: &scratch}); err != nil {
			return err
		}
	}
	for i := range f.smsOff {
		if err := put(record{SMSOff: &f.smsOff[i]}); err != nil {
			return err
		}
	}
	for i := range f.dedup {
		if err := put(record{Dedup: &f.dedup[i]}); err != nil {
			return err
		}
	}
	for i := range f.dropped {
		if err := put(record{Dropped: &f.dropped[i]}); err != nil {
			return err
		}
	}
	if err := enc.Encode(record{End: &endRecord{Incidents: kept, Records: n}}); err != nil {
		return fmt.Errorf("encode incident state end: %w", err)
	}
	return nil
}

// ReadSnapshot decodes a state written by WriteSnapshot and rebuilds indexes.
func ReadSnapshot(r io.Reader) (*State, error) {
	dec := json.NewDecoder(bufio.NewReader(r))
	dec.DisallowUnknownFields()
	return DecodeStream(dec)
}

// DecodeStream reads the state's records from dec up to and including the
// end record, one at a time, and rebuilds the indexes. Unknown fields are
// refused if dec is set to (a newer format is announced by the cluster's
// header, so an unknown field here means a damaged or foreign snapshot).
func DecodeStream(dec *json.Decoder) (*State, error) {
	b := &builder{s: NewState()}
	for n := 1; ; n++ {
		var r record
		if err := dec.Decode(&r); err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return nil, fmt.Errorf("decode incident state record %d: %w", n, err)
		}
		done, err := b.add(n, &r)
		if err != nil {
			return nil, fmt.Errorf("decode incident state record %d: %w", n, err)
		}
		if done {
			return b.finish()
		}
	}
}

// checkStored refuses a stored incident the state cannot hold: a status
// other than the three, or one without the time it implies. Apply and the
// API read an acknowledged incident's AcknowledgedAt and a resolved one's
// ResolvedAt (a later ack's conflict message does), so a hand-edited
// snapshot restored with either missing made the next such command panic
// on every node.
func checkStored(st *storedIncident) error {
	switch {
	case st.Status != Triggered && st.Status != Acknowledged && st.Status != Resolved:
		return fmt.Errorf("incident %d: status %q is not triggered, acknowledged or resolved", st.ID, st.Status)
	case st.Status == Acknowledged && st.AcknowledgedAt == nil:
		return fmt.Errorf("incident %d: acknowledged without acknowledged_at", st.ID)
	case st.Status == Resolved && st.ResolvedAt == nil:
		return fmt.Errorf("incident %d: resolved without resolved_at", st.ID)
	}
	return nil
}

// maxIDSpan bounds the ids between the oldest kept incident and the newest
// (8 bytes each in memory, removed ones included), so that a damaged or
// hostile snapshot cannot make restore allocate without limit. An old open
// incident keeps every later id's slot: this many is centuries of paging.
const maxIDSpan = 1 << 24

// builder rebuilds a State from records in stream order.
type builder struct {
	s       *State
	header  *stateRecord
	kept    int
	dropped []droppedRecord
}

func (b *builder) add(n int, r *record) (done bool, err error) {
	if (n == 1) != (r.State != nil) {
		return false, errors.New("the state record must come first, and only once")
	}
	switch {
	case r.State != nil:
		if r.State.NextID <= r.State.Base || r.State.NextID-r.State.Base-1 > maxIDSpan {
			return false, fmt.Errorf("ids from base %d to next id %d: want next id above base, at most %d apart",
				r.State.Base, r.State.NextID, maxIDSpan)
		}
		b.header, b.s.base = r.State, r.State.Base
	case r.Incident != nil:
		if err := checkStored(r.Incident); err != nil {
			return false, err
		}
		return false, b.addIncident(fromStored(r.Incident))
	case r.SMSOff != nil:
		b.s.smsOff[r.SMSOff.Phone] = r.SMSOff.At
	case r.Dedup != nil:
		b.s.remember(r.Dedup.ID, r.Dedup.Incident)
		if r.Dedup.Refused != "" {
			b.s.dedupRefused[r.Dedup.ID] = r.Dedup.Refused
		}
	case r.Dropped != nil:
		b.dropped = append(b.dropped, *r.Dropped)
	case r.End != nil:
		if r.End.Incidents != b.kept || r.End.Records != n-1 {
			return false, fmt.Errorf("end says %d incidents in %d records; read %d in %d", r.End.Incidents, r.End.Records, b.kept, n-1)
		}
		return true, nil
	default:
		return false, errors.New("empty record")
	}
	return false, nil
}

// addIncident places inc at its id, leaving nil for ids removed before.
func (b *builder) addIncident(inc *Incident) error {
	s := b.s
	if inc.ID < s.nextID() || inc.ID >= b.header.NextID {
		return fmt.Errorf("incident id %d out of order (want at least %d, below %d)", inc.ID, s.nextID(), b.header.NextID)
	}
	s.padTo(inc.ID)
	s.incidents = append(s.incidents, inc)
	s.index(inc)
	b.kept++
	return nil
}

func (b *builder) finish() (*State, error) {
	s := b.s
	s.padTo(b.header.NextID)
	for _, d := range b.dropped {
		s.restoreDropped(d)
	}
	return s, nil
}

// padTo leaves empty slots for the removed ids below id, so that id is the
// next one. It extends the slice once: a snapshot may announce up to
// maxIDSpan ids, and appending them one by one took most of a second.
func (s *State) padTo(id uint64) {
	if next := s.nextID(); next < id {
		n := len(s.incidents)
		s.incidents = slices.Grow(s.incidents, int(id-next))[:n+int(id-next)]
		clear(s.incidents[n:]) // Grow may reuse capacity that held something
	}
}

// index rebuilds the derived indexes of one restored incident.
func (s *State) index(inc *Incident) {
	if !inc.Status.Open() {
		s.indexSummaryMail(inc)
		return
	}
	s.open[openKey{inc.Service, inc.DedupKey}] = inc
	if len(inc.Alerts) >= alertIndexMin {
		s.alertIndex[inc.ID] = indexAlerts(inc.Alerts)
	}
	for _, n := range inc.Notifications {
		if n.Channel == ChannelSMS && n.ReplyCode != 0 {
			if s.phoneCodes[n.To] == nil {
				s.phoneCodes[n.To] = map[uint64]int{}
			}
			s.phoneCodes[n.To][inc.ID] = n.ReplyCode
		}
	}
}
