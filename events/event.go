package events

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/pagerd/pagerd/incident"
	"github.com/pagerd/pagerd/notify/webhook"
)

// Event is the JSON body of one delivery: one timeline entry of one
// incident. It is signed like a page (notify/webhook).
type Event struct {
	// ID is the delivery id (also X-Pagerd-Delivery), stable across
	// resends and leaders: "e<incident id>-<seq>".
	ID   string `json:"id"`
	Type string `json:"type"` // always "incident.event"
	// Event is the timeline entry's type: triggered, step, notified,
	// acknowledged, resolved, note, severity_changed, role_assigned, ...
	Event string `json:"event"`
	// Seq is the entry's position in the incident's timeline, from 1; a
	// receiver sees each incident's events in Seq order.
	Seq     int       `json:"seq"`
	At      time.Time `json:"at"`
	Actor   string    `json:"actor"`
	Message string    `json:"message"`
	// Incident is the incident as it is when the event is sent (without
	// timeline and notifications).
	Incident  *incident.Incident `json:"incident"`
	BridgeURL string             `json:"bridge_url,omitempty"`
	SentAt    time.Time          `json:"sent_at"`
}

// DeliveryID is the id of entry index (0-based) of incident id.
func DeliveryID(id uint64, index int) string { return fmt.Sprintf("e%d-%d", id, index+1) }

// Body encodes the event for timeline entry index of inc.
func Body(inc *incident.Incident, index int, bridgeURL string, now time.Time) ([]byte, error) {
	e := inc.Timeline[index]
	head := *inc
	head.Timeline, head.Notifications = nil, nil
	return json.Marshal(Event{
		ID: DeliveryID(inc.ID, index), Type: webhook.EventIncident, Event: e.Type, Seq: index + 1,
		At: e.At.UTC(), Actor: e.Actor, Message: e.Message, Incident: &head, BridgeURL: bridgeURL, SentAt: now.UTC(),
	})
}
