// Package events streams every timeline entry of an incident to the
// webhooks its service lists in `events_to` (spec §5.1): the incident's
// team channel for chat tools. It runs only on the leader
// (cluster.Node.OnLeader), like the escalation engine, and keeps no state
// across terms: what has been delivered is replicated as one cursor per
// incident and webhook (incident.EventProgress), so a new leader carries on
// from the cursors. See DESIGN.md.
package events
