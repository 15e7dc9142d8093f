// Package learning is the replicated record of what pagerd learns from an
// incident (spec §5, issue 15): postmortems and follow-up actions, and the
// log of reminders sent about them. Everything here is applied by the
// cluster FSM: apply is deterministic (the leader stamps time into the
// batch; nothing reads a clock or a random source) and has no side
// effects. The reminder mails themselves are sent by package reminders on
// the leader, recorded here before and after.
package learning
