// Package reminders runs calendar-style jobs on the cluster leader:
// postmortem and follow-up reminders now, plan reviews and drills later
// (a new kind is one more Job).
//
// The engine keeps no clock of its own beyond timers: each run asks every
// job what is due now and when the next one falls due, sends what is due,
// and sleeps until that instant or until the replicated state changes (the
// FSM watch), never polling. Every send is recorded in replicated state
// first — "reminder X for date D queued" — then sent, then its outcome
// committed. A reminder already recorded is never sent again, so a leader
// change neither repeats one (the new leader sees the record) nor skips one
// (the new leader sends whatever is due and unrecorded). A reminder queued
// by a leader that died before recording the outcome is not sent again:
// at most once, like a page whose send outcome was lost.
//
// Reminders due to one person in one run go out as one digest mail.
package reminders
