package api

import (
	"context"
	"strings"
	"testing"

	"github.com/pagerd/pagerd/config"
)

func TestCheckInternalFields(t *testing.T) {
	token := func(name, scope string) context.Context {
		return withTokenScope(withTokenName(context.Background(), name), scope)
	}
	node := context.WithValue(context.Background(), nodeKey{}, "n2")
	cases := []struct {
		name               string
		ctx                context.Context
		by, channel, dedup string
		refused            string // "" when allowed
	}{
		{"respond, nothing set", token("bot", config.ScopeRespond), "", "", "", ""},
		{"respond names itself, api channel", token("bot", config.ScopeRespond), "bot", "api", "", ""},
		{"respond as alice", token("bot", config.ScopeRespond), "alice", "", "", "by:"},
		{"admin as alice", token("ops", config.ScopeAdmin), "alice", "", "", ""},
		{"admin sets a dedup id", token("ops", config.ScopeAdmin), "", "", "m1", "dedup_id:"},
		{"admin claims email", token("ops", config.ScopeAdmin), "", "email", "", "channel:"},
		{"node forwards a reply", node, "alice", "email", "m1", ""},
	}
	for _, c := range cases {
		msg, ok := checkInternalFields(c.ctx, c.by, c.channel, c.dedup)
		switch {
		case c.refused == "" && !ok:
			t.Errorf("%s: refused: %s", c.name, msg)
		case c.refused != "" && (ok || !strings.HasPrefix(msg, c.refused)):
			t.Errorf("%s: %v %q, want refused naming %s", c.name, ok, msg, c.refused)
		}
	}
}
