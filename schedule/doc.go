// Package schedule answers "who is on call at instant T" for pagerd's rotations
// and schedules (spec §3), lists shifts and gaps in a window, renders shifts as
// an iCalendar feed, and diffs the on-call timelines of two configurations for
// `pagerd config plan`.
//
// The package is pure and deterministic: it never reads the clock or the
// machine's local time zone. Every instant is an argument, so the replicated
// state machine, the API and offline tools get identical answers from the same
// *config.Config.
//
// Rules (details and rationale in DESIGN.md):
//
//   - A rotation's turns extend both ways from its `start` anchor. Turn n of a
//     rotation whose shift is a whole number of days starts at the wall-clock
//     handoff time on date(start)+n*days in the rotation's zone; a handoff
//     that falls in a spring-forward gap happens at the first instant after the
//     gap, one that occurs twice (fall back) at the first occurrence. Shorter
//     shifts are absolute durations from start. Turn n belongs to
//     participants[n mod len(participants)].
//   - Restrictions (`active`) are wall-clock windows in the rotation's zone; a
//     window belongs to the day it starts on, and crosses midnight when `to` is
//     not after `from`. Inside a window, each instant is covered by the
//     participant whose turn contains that instant (PagerDuty's rule), so a
//     window straddling a handoff is split between the two participants.
//   - In a schedule a later layer wins wherever it has someone. Overrides apply
//     on top in config order: the override's user is on call in its window;
//     with `replaces` only that user is removed (if on call), without it
//     everyone else is. Nobody on call (a gap) is an answer, never an error.
//   - Users of one instant are ordered: the layer's user first, then override
//     users in config order, without duplicates.
//
// Times are computed with one-second resolution: config instants (starts,
// override bounds) must be whole seconds, and query instants may carry any
// precision. Instants must lie in years 1..9999 (ErrRange otherwise).
package schedule
