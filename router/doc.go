// Package router is pagerd's ingest front door: it decodes Alertmanager webhook
// (v4) notifications and PagerDuty Events API v2 events, authenticates them by
// integration key, routes them to a service, maps severities, and hands the
// result to a Submitter that commits it to the Raft log.
//
// The pure parts (DecodeAlertmanager, DecodeEvent, EventRequest.Validate,
// BuildAlertGroup, BuildEvent, Compile and Table) are separate from the HTTP
// plumbing in Handler so they can be unit-tested and fuzzed directly. See
// DESIGN.md for the strictness, routing and severity rules.
package router
