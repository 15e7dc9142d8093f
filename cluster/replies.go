package cluster

// What the reply backend (package reply/nodebackend) needs from a node to
// forward a reply to the leader's HTTP API like any other write. The backend
// itself lives there: the cluster replicates and forwards, it does not know
// the incident API's routes and bodies. The request itself is made by
// LeaderRequest (nodeauth.go): signed with the node's cluster credentials,
// never an API token.

// DuplicateHeader marks an action answer as a retried reply that had
// already acted (its DedupID was known).
const DuplicateHeader = "X-Pagerd-Duplicate"
