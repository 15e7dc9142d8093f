package incident

import "time"

// Incident event streams (spec §5, services[].events_to): the leader posts
// every timeline entry of a service's incidents to the service's webhooks,
// in order. What has been delivered is replicated as one cursor per incident
// and webhook, so a new leader continues where the old one stopped. These
// are the plain data of that command; the cluster FSM keeps the cursors.

// EventProgress advances delivery cursors; the leader commits it after each
// delivered (or finally failed) entry, many streams per command.
type EventProgress struct {
	Items []EventProgressItem `json:"items"`
}

// EventProgressItem says that entries [0, Next) of the incident's timeline
// are done for the webhook. Error is set when entry Next-1 was given up
// after the bounded attempts (it is counted, and the stream moves on).
type EventProgressItem struct {
	Incident uint64 `json:"incident"`
	Webhook  string `json:"webhook"`
	Next     int    `json:"next"`
	Error    string `json:"error,omitempty"`
}

// EventCursor is where one incident's stream to one webhook stands.
type EventCursor struct {
	Next   int    `json:"next"`             // timeline entries delivered or given up
	Failed int    `json:"failed,omitempty"` // how many were given up
	Error  string `json:"error,omitempty"`  // the last give-up's reason
}

// StreamInfo is what event streaming needs of an incident, read without
// copying it.
type StreamInfo struct {
	Service     string
	TimelineLen int
	ResolvedAt  *time.Time // nil while open
}

// StreamInfo returns the stream facts of incident id.
func (s *State) StreamInfo(id uint64) (StreamInfo, bool) {
	inc := s.byID(id)
	if inc == nil {
		return StreamInfo{}, false
	}
	return StreamInfo{Service: inc.Service, TimelineLen: len(inc.Timeline), ResolvedAt: inc.ResolvedAt}, true
}

// EachStreamable calls fn with the id of every incident that is open or was
// resolved at or after cut, newest first. It visits every incident, so it
// is for full rescans only (leadership start, config change).
func (s *State) EachStreamable(cut time.Time, fn func(id uint64)) {
	for i := len(s.incidents) - 1; i >= 0; i-- {
		inc := s.incidents[i]
		if inc != nil && (inc.ResolvedAt == nil || !inc.ResolvedAt.Before(cut)) {
			fn(inc.ID)
		}
	}
}
