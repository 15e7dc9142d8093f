// Package reply holds the pure, security-sensitive parts of acting on a page
// by replying to it: verifying Twilio's webhook signature, parsing SMS reply
// commands and answering in TwiML, allocating per-phone reply codes, minting
// and verifying the Reply-To tokens of page emails, and extracting the
// command from an inbound email reply (quotes, signatures, auto-replies and
// bounces set aside).
//
// Nothing here does I/O beyond reading the io.Reader it is handed, reads a
// clock, or touches replicated state: the SMTP server, the Twilio endpoint
// and the Raft commit wiring call into it. Every parser is fuzzed and must
// never panic on hostile input. See DESIGN.md for the grammar, the token
// layout and its threat model, and the stripping rules.
package reply
