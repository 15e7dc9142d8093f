package learning

import "time"

// Postmortem statuses (spec §5.3).
const (
	StatusDraft     = "draft"
	StatusInReview  = "in_review"
	StatusPublished = "published"
)

// Follow-up statuses and priorities (spec §5.3).
const (
	FollowupOpen   = "open"
	FollowupDone   = "done"
	FollowupWontDo = "wont_do"

	PriorityHigh   = "high"
	PriorityNormal = "normal"
	PriorityLow    = "low"
)

// MaxBody caps a postmortem body: it lives in replicated state and in
// every snapshot.
const MaxBody = 256 << 10

// Bounds of free text kept in state.
const (
	maxTitle = 300
	maxNote  = 2000
	maxLink  = 2000
	// MaxFollowupsPerIncident bounds one incident's follow-ups.
	MaxFollowupsPerIncident = 200
)

// Postmortem is one incident's postmortem.
type Postmortem struct {
	Incident    uint64     `json:"incident"`
	Key         string     `json:"key"`
	Status      string     `json:"status"`
	Owner       string     `json:"owner"`
	DueAt       time.Time  `json:"due_at"`
	Body        string     `json:"body"`
	CreatedAt   time.Time  `json:"created_at"`
	CreatedBy   string     `json:"created_by"`
	UpdatedAt   time.Time  `json:"updated_at"`
	UpdatedBy   string     `json:"updated_by"`
	PublishedAt *time.Time `json:"published_at"`
}

// Followup is one follow-up action ("INC-42-F1").
type Followup struct {
	ID        string     `json:"id"`
	Incident  uint64     `json:"incident"`
	Key       string     `json:"key"`
	Title     string     `json:"title"`
	Owner     string     `json:"owner"`
	Due       time.Time  `json:"due"`
	Priority  string     `json:"priority"`
	Link      string     `json:"link,omitempty"`
	Status    string     `json:"status"`
	Note      string     `json:"note,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
	CreatedBy string     `json:"created_by"`
	ClosedAt  *time.Time `json:"closed_at"`
	ClosedBy  string     `json:"closed_by,omitempty"`
	ClosedVia string     `json:"closed_via,omitempty"` // api | email
}

// Overdue reports whether f is open past its due time at now.
func (f *Followup) Overdue(now time.Time) bool {
	return f.Status == FollowupOpen && now.After(f.Due)
}

// Reminder outcomes.
const (
	ReminderQueued = "queued"
	ReminderSent   = "sent"
	ReminderFailed = "failed"
)

// ReminderRecord is one reminder the leader decided to send: recorded
// queued before the mail goes out and sent or failed after, so a new
// leader neither skips nor repeats it.
type ReminderRecord struct {
	ID       string     `json:"id"` // kind/ref/date, e.g. "followup/INC-42-F1/2026-12-06T10:00:00Z"
	Kind     string     `json:"kind"`
	Ref      string     `json:"ref"`
	To       string     `json:"to"` // user id
	Status   string     `json:"status"`
	QueuedAt time.Time  `json:"queued_at"`
	DoneAt   *time.Time `json:"done_at"`
	Error    string     `json:"error,omitempty"`
}
