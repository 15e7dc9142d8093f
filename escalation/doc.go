// Package escalation runs escalation policies and delivers pages: on
// trigger it resolves step 0's targets at that instant (with package
// schedule) and starts each targeted user's notification rules; after
// escalate_after it runs the next step; after the last it repeats; it stops
// on acknowledge or resolve, and starts over when an acknowledgement times
// out. It sends through the channel clients notify/channels builds (asked
// through the Senders interface), with retries, backoff and per-person
// flood control.
//
// The engine runs only on the leader (register Engine.Run with
// cluster.Node.OnLeader). It keeps nothing between terms: every timer is
// rebuilt from the replicated state when a node gains leadership, so an
// overdue step fires at once (late is allowed, early never, lost never).
// Every change it makes is a conditional command (incident.StepStart names
// the step sequence it expects; incident.DeliveryItem the attempt), so a
// stale leader's or a duplicate firing changes nothing. See DESIGN.md.
package escalation
