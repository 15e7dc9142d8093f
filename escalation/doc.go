// Package escalation will run escalation policies: on trigger, resolve step 0's
// targets at that instant (with package schedule) and start each targeted
// user's notification rules; after escalate_after, run the next step; after the
// last, repeat; stop on acknowledge or resolve.
//
// It is not implemented yet (issue 4). The contract it will follow is fixed by
// the cluster package: the escalation state of each incident lives in the
// replicated FSM; timers run only on the leader, started and stopped through
// cluster.Node.OnLeader and rebuilt from state on gaining leadership (an overdue
// step fires at once: late is allowed, early never, lost never); a firing
// submits a conditional command ("advance incident 42 from step 1, loop 0") so a
// stale leader or a duplicate firing changes nothing.
package escalation
