package learning

import "time"

// PostmortemCommand creates or edits a postmortem (command type 60). A
// field left empty keeps its value; Body is set when BodySet is true (so
// an empty body can be written).
type PostmortemCommand struct {
	Incident uint64 `json:"incident"`
	Status   string `json:"status,omitempty"`
	Owner    string `json:"owner,omitempty"`
	Body     string `json:"body,omitempty"`
	BodySet  bool   `json:"body_set,omitempty"`
	By       string `json:"by"`
}

// FollowupAdd adds a follow-up to an incident (command type 61). The id is
// assigned in apply from the incident's sequence; a zero Due takes the
// severity's followups_due from the batch time.
type FollowupAdd struct {
	Incident uint64    `json:"incident"`
	Title    string    `json:"title"`
	Owner    string    `json:"owner"`
	Due      time.Time `json:"due"`
	Priority string    `json:"priority,omitempty"`
	Link     string    `json:"link,omitempty"`
	By       string    `json:"by"`
}

// FollowupPatch changes a follow-up (command type 62). Empty fields keep
// their value. Via is "api" or "email"; an email close is checked against
// the owner in apply (FromOwner says the reply came from the owner's
// configured address, as the leader saw it).
type FollowupPatch struct {
	ID     string     `json:"id"`
	Status string     `json:"status,omitempty"`
	Owner  string     `json:"owner,omitempty"`
	Due    *time.Time `json:"due,omitempty"`
	Note   string     `json:"note,omitempty"`
	Link   *string    `json:"link,omitempty"`
	By     string     `json:"by"`
	Via    string     `json:"via,omitempty"`
}

// ReminderQueue records that the leader is about to send reminders to one
// person in one mail (command type 63). It is refused as a whole when any
// of them is already recorded, so two leaders never both send one.
type ReminderQueue struct {
	To    string           `json:"to"`
	Items []ReminderRecord `json:"items"`
}

// ReminderOutcome records how the mail of a ReminderQueue went (command
// type 64).
type ReminderOutcome struct {
	IDs    []string `json:"ids"`
	Status string   `json:"status"` // sent | failed
	Error  string   `json:"error,omitempty"`
}
