package reply

import (
	"context"
	"errors"
	"time"

	"github.com/pagerd/pagerd/incident"
)

// Page is one page a reply can act on: a notification that went to a person,
// with the incident it is about as it stands now.
type Page struct {
	Notification string // notification id, e.g. "n42-1-0"
	Incident     uint64
	Key          string // "INC-42"
	Title        string
	Service      string
	Severity     string
	Status       incident.Status
	User         string // the paged user id
	Channel      string // "sms" | "email"
	To           string // phone (E.164) or email address the page went to
	Code         int    // SMS reply code of this page on that phone; 0 for email
	SentAt       time.Time
	// Role is set when the page asked the person to take this role (for
	// SMS: every page of this incident to that phone did); an ack of it
	// takes the role (RoleAck).
	Role string
}

// Request is a reply turned into an action on one incident.
type Request struct {
	Channel  string // "sms" | "email" | "dev"
	From     string // the phone or address the reply came from
	User     string // the paged user the reply acts as
	Incident uint64
	Kind     string // incident.Ack | incident.Resolve | incident.Escalate | ActionSeverity
	// Severity is what ActionSeverity sets ("sev1".."sev3").
	Severity string
	// Audience and Text are the status update ActionUpdate posts.
	Audience, Text string
	// Role is the role ActionRole takes ("incident_manager").
	Role string
	// DedupID makes a retried delivery act once: "sms:"+MessageSid, or
	// "email:"+Message-ID+"/"+token. Empty disables deduplication.
	DedupID string
	Note    string // what the person wrote, for the timeline
}

// Result is what committing a Request did.
type Result struct {
	// Incident is the incident after the action (or as it stands, for a
	// duplicate or a refused action).
	Incident *incident.Incident
	// Duplicate is true when DedupID was already applied; nothing changed.
	Duplicate bool
}

// ErrTransient marks a reply that could not be committed now (no leader, no
// quorum). SMTP answers 451 so the sender retries; SMS answers ask the
// person to try again.
var ErrTransient = errors.New("cannot record the reply now; retry")

// Backend is what the reply transports (the inbound SMTP server, the Twilio
// webhook, the dev outbox) need from the replicated state. The daemon wires
// it to the cluster node; tests wire it to an in-memory fake.
type Backend interface {
	// PageForToken verifies an email Reply-To token (the address local part)
	// at instant now and returns the page it is bound to. Errors wrap
	// ErrTokenMalformed, ErrTokenForged, ErrTokenExpired, ErrTokenKeyRetired,
	// or ErrUnknownPage.
	PageForToken(token string, now time.Time) (Page, error)
	// PagesForPhone lists the SMS pages sent to phone whose incidents are
	// open, newest first, with their reply codes.
	PagesForPhone(phone string) []Page
	// UserForPhone finds the configured user with this phone number.
	UserForPhone(phone string) (userID string, ok bool)
	// Act commits req after Raft commit. Errors wrap incident.ErrConflict
	// (e.g. already resolved, whose message says by whom and when),
	// incident.ErrNotFound, or ErrTransient.
	Act(ctx context.Context, req Request) (Result, error)
	// SetSMSOptOut records STOP (off=true) or START (off=false) from phone.
	// dedupID as in Request. Errors may wrap ErrTransient.
	SetSMSOptOut(ctx context.Context, phone string, off bool, dedupID string) error
}

// ErrUnknownPage is returned for a token whose MAC verifies but whose
// notification no longer exists in the state (e.g. restored from an older
// backup).
var ErrUnknownPage = errors.New("no such page")
