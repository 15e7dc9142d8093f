package cluster

import (
	"context"
	"fmt"
	"strings"

	"github.com/pagerd/pagerd/incident"
)

// ackRolesVersion is the action version that may carry ack_roles. The
// version gate (gate.go) writes it only once every member applies it;
// before, an ack is written one version lower without the roles, so older
// members neither stop nor diverge.
const ackRolesVersion = 3

// SubmitRole commits a person taking, handing over or releasing a role.
// The role and the new holder must be in the leader's active config
// (incident.ErrInvalid naming the field otherwise), so a request that
// names neither changes nothing.
func (n *Node) SubmitRole(ctx context.Context, rc *incident.RoleChange) (*incident.Incident, error) {
	if err := n.checkRole(rc); err != nil {
		return nil, err
	}
	v, err := n.Submit(ctx, TypeRole, rc)
	inc, _ := v.(*incident.Incident)
	return inc, err
}

// SubmitRoleNotify commits the escalation engine's role page or
// instructions plan (recorded before anything is sent).
func (n *Node) SubmitRoleNotify(ctx context.Context, rn *incident.RoleNotify) (*incident.Incident, error) {
	v, err := n.Submit(ctx, TypeRoleNotify, rn)
	inc, _ := v.(*incident.Incident)
	return inc, err
}

func (n *Node) checkRole(rc *incident.RoleChange) error {
	ac := n.fsm.Config()
	if ac == nil || ac.Config == nil {
		return fmt.Errorf("%w: role: no config is active", incident.ErrInvalid)
	}
	if _, ok := ac.Config.RoleOf(rc.Role); !ok {
		return fmt.Errorf("%w: role: unknown role %q (known: %s)", incident.ErrInvalid, rc.Role, strings.Join(ac.Config.RoleIDs(), ", "))
	}
	if rc.User != "" {
		if _, ok := ac.Config.User(rc.User); !ok {
			return fmt.Errorf("%w: user: unknown user %q", incident.ErrInvalid, rc.User)
		}
	}
	return nil
}

// ackRoles is the active config's roles without a from, by severity.
func (n *Node) ackRoles() map[string][]string {
	ac := n.fsm.Config()
	if ac == nil || ac.Config == nil {
		return nil
	}
	m := ac.Config.AckRoles()
	for sev, roles := range m {
		if len(roles) == 0 {
			delete(m, sev)
		}
	}
	if len(m) == 0 {
		return nil
	}
	return m
}

// isUser reports whether id is a user of the active config.
func (n *Node) isUser(id string) bool {
	ac := n.fsm.Config()
	if ac == nil || ac.Config == nil || id == "" {
		return false
	}
	_, ok := ac.Config.User(id)
	return ok
}
