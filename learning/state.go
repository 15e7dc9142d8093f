package learning

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// State is the replicated learning record. The FSM holds it under its lock.
type State struct {
	Postmortems map[uint64]*Postmortem `json:"postmortems"`
	Followups   map[string]*Followup   `json:"followups"`
	// Seq is the last follow-up number used per incident: ids are never
	// reused.
	Seq       map[uint64]int             `json:"seq"`
	Reminders map[string]*ReminderRecord `json:"reminders"`
}

// NewState returns an empty record.
func NewState() *State {
	return &State{Postmortems: map[uint64]*Postmortem{}, Followups: map[string]*Followup{},
		Seq: map[uint64]int{}, Reminders: map[string]*ReminderRecord{}}
}

// Encode is the snapshot form: a deep copy, so later applies do not
// change a snapshot in progress.
// An empty state encodes as nil (left out of the snapshot header), so a
// cluster that never used any of this writes the snapshots it wrote before.
func (s *State) Encode() (json.RawMessage, error) {
	if len(s.Postmortems) == 0 && len(s.Followups) == 0 && len(s.Seq) == 0 && len(s.Reminders) == 0 {
		return nil, nil
	}
	b, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("encode learning state: %w", err)
	}
	return b, nil
}

// Decode reads Encode's form; empty input is an empty state.
func Decode(b json.RawMessage) (*State, error) {
	s := NewState()
	if len(b) == 0 || string(b) == "null" {
		return s, nil
	}
	if err := json.Unmarshal(b, s); err != nil {
		return nil, fmt.Errorf("decode learning state: %w", err)
	}
	if s.Postmortems == nil {
		s.Postmortems = map[uint64]*Postmortem{}
	}
	if s.Followups == nil {
		s.Followups = map[string]*Followup{}
	}
	if s.Seq == nil {
		s.Seq = map[uint64]int{}
	}
	if s.Reminders == nil {
		s.Reminders = map[string]*ReminderRecord{}
	}
	if err := s.checkNoNull(); err != nil {
		return nil, fmt.Errorf("decode learning state: %w", err)
	}
	return s, nil
}

// checkNoNull refuses a null entry, which Encode never writes but a
// hand-edited snapshot (PUT /v1/snapshot) may hold: every reader of the
// state (the FSM's queries, the reminder jobs) takes the entries as
// present, so one nil would panic later on every node instead of failing
// the restore now.
func (s *State) checkNoNull() error {
	for id, p := range s.Postmortems {
		if p == nil {
			return fmt.Errorf("postmortems.%d: null", id)
		}
	}
	for id, f := range s.Followups {
		if f == nil {
			return fmt.Errorf("followups.%s: null", id)
		}
	}
	for id, r := range s.Reminders {
		if r == nil {
			return fmt.Errorf("reminders.%s: null", id)
		}
	}
	return nil
}

// Postmortem returns a copy of an incident's postmortem.
func (s *State) Postmortem(id uint64) (Postmortem, bool) {
	p, ok := s.Postmortems[id]
	if !ok {
		return Postmortem{}, false
	}
	return *p, true
}

// Followup returns a copy of one follow-up; id is matched case-insensitively.
func (s *State) Followup(id string) (Followup, bool) {
	f, ok := s.Followups[strings.ToUpper(id)]
	if !ok {
		return Followup{}, false
	}
	return *f, true
}

// Filter selects follow-ups.
type Filter struct {
	Status   string // open | done | wont_do | all ("" means open)
	Owner    string
	Incident uint64
	Overdue  bool
	Now      time.Time // for Overdue
}

// Followups lists copies of the follow-ups f selects, by incident then number.
func (s *State) ListFollowups(f Filter) []Followup {
	out := []Followup{}
	for _, fu := range s.Followups {
		if f.matches(fu) {
			out = append(out, *fu)
		}
	}
	sort.Slice(out, func(i, j int) bool { return followupLess(out[i], out[j]) })
	return out
}

func (f Filter) matches(fu *Followup) bool {
	status := f.Status
	if status == "" {
		status = FollowupOpen
	}
	switch {
	case status != "all" && fu.Status != status:
		return false
	case f.Owner != "" && fu.Owner != f.Owner:
		return false
	case f.Incident != 0 && fu.Incident != f.Incident:
		return false
	case f.Overdue && !fu.Overdue(f.Now):
		return false
	}
	return true
}

func followupLess(a, b Followup) bool {
	if a.Incident != b.Incident {
		return a.Incident < b.Incident
	}
	return followupNumber(a.ID) < followupNumber(b.ID)
}

func followupNumber(id string) int {
	i := strings.LastIndex(id, "-F")
	if i < 0 {
		return 0
	}
	n, _ := strconv.Atoi(id[i+2:])
	return n
}

// Reminder returns a reminder record.
func (s *State) Reminder(id string) (ReminderRecord, bool) {
	r, ok := s.Reminders[id]
	if !ok {
		return ReminderRecord{}, false
	}
	return *r, true
}

// RemindersAbout lists the reminder records about ref, oldest first.
func (s *State) RemindersAbout(ref string) []ReminderRecord {
	out := []ReminderRecord{}
	for _, r := range s.Reminders {
		if r.Ref == ref {
			out = append(out, *r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}
