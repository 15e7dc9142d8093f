// Package outbox is the development outbox of `pagerd serve --dev`: senders
// for the email, SMS and webhook channels that deliver nothing and keep every
// message in memory instead, rendered with the same text as the real senders.
//
// The kept messages are listed at GET /dev/outbox, as an HTML page for people
// (newest first, with a reply form on each SMS and email so a page can be
// answered without a phone or a mail server) and as JSON for tests
// (?format=json or Accept: application/json, oldest first). The chaos test
// suite reads each node's JSON outbox to see who was sent what, so the JSON
// shape of Message is a contract.
//
// The outbox is only wired with --dev. It is a bounded ring (Options.Max):
// the oldest messages are dropped and counted, and nothing survives a
// restart.
package outbox
