package api

import (
	"context"
	"fmt"
	"net/http"

	"github.com/pagerd/pagerd/config"
)

// Node-to-node requests (see cluster/nodeauth.go) are authenticated by the
// cluster's own credentials, not by API tokens, and may do only what nodes
// need of each other: join, and forward a reply to the leader. Only they may
// set an action's internal fields (channel, dedup_id, and `by` as the user a
// reply came from).

type nodeKey struct{}
type tokenScopeKey struct{}

// nodeRoutes are the routes a member's node credentials open.
var nodeRoutes = map[string]bool{
	"POST /v1/incidents/{id}/updates":     true, // a reply's 3u/3p or update:/public:
	"POST /v1/cluster/join":               true,
	"POST /v1/incidents/{id}/{action}":    true,
	"POST /v1/incidents/{id}/severity":    true, // a reply's 3s1 or sev1
	"PUT /v1/incidents/{id}/roles/{role}": true, // a reply's 3im or take im
	"PATCH /v1/followups/{id}":            true, // a reminder reply's done
}

func (s *Server) nodeAuth(h http.Handler, w http.ResponseWriter, r *http.Request) {
	node, err := s.node.VerifyNodeRequest(r)
	if err != nil {
		s.log.Warn("refused node-to-node request", "path", r.URL.Path, "remote", r.RemoteAddr, "err", err)
		unauthorized(w, "node credentials: "+err.Error())
		return
	}
	if !nodeRoutes[r.Pattern] {
		writeError(w, http.StatusForbidden, fmt.Sprintf("node credentials are for joining and forwarding replies only, not %s %s", r.Method, r.URL.Path))
		return
	}
	ctx := context.WithValue(r.Context(), nodeKey{}, node)
	h.ServeHTTP(w, r.WithContext(withTokenName(ctx, "node:"+node)))
}

// fromNode is the member a request was authenticated as, or "".
func fromNode(ctx context.Context) string {
	n, _ := ctx.Value(nodeKey{}).(string)
	return n
}

func withTokenScope(ctx context.Context, scope string) context.Context {
	return context.WithValue(ctx, tokenScopeKey{}, scope)
}

// tokenScope is the scope of the API token a request came with ("" for node
// requests and feed tokens).
func tokenScope(ctx context.Context) string {
	s, _ := ctx.Value(tokenScopeKey{}).(string)
	return s
}

// checkInternalFields refuses the fields of an action or severity body that
// only a node forwarding a reply may set: the reply's channel and dedup id
// always, and `by` as checkActor says.
func checkInternalFields(ctx context.Context, by, channel, dedupID string) (string, bool) {
	if fromNode(ctx) != "" {
		return "", true
	}
	switch {
	case channel != "" && channel != "api":
		return "channel: only a pagerd node forwarding a reply sets it; API clients leave it out (it is \"api\")", false
	case dedupID != "":
		return "dedup_id: only a pagerd node forwarding a reply sets it; API clients leave it out", false
	}
	return checkActor(ctx, by)
}

// checkActor refuses `by` naming someone other than the token, unless the
// token is admin (the CLI's --as, for an operator recording an action taken
// by phone) or the request a node's (a reply, acting as the paged user).
func checkActor(ctx context.Context, by string) (string, bool) {
	if fromNode(ctx) != "" || by == "" || by == tokenName(ctx) || tokenScope(ctx) == config.ScopeAdmin {
		return "", true
	}
	return fmt.Sprintf("by: token %q has scope %s and acts as itself; acting as user %q needs an admin token (or leave by out)",
		tokenName(ctx), tokenScope(ctx), by), false
}
