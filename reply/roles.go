package reply

// ActionRole takes a role (SMS "3im", email "take im"; spec §5.5); the
// Request's Role names it. An ack of a role page is also ActionRole: it
// takes the role and never acknowledges the incident (RoleAck).
const ActionRole = "role"

// roleWords are the short names replies use for the built-in roles.
var roleWords = map[string]string{
	"im": "incident_manager",
	"tl": "tech_lead",
	"cm": "comms_manager",
}

// RoleReplyWord is the reply word that takes role ("im"), or "" for a role
// without one (an ack of its page takes it).
func RoleReplyWord(role string) string {
	for w, r := range roleWords {
		if r == role {
			return w
		}
	}
	return ""
}

// RoleAck turns an acknowledgement of a role page into taking that role:
// the page asked the person to take the role, not to acknowledge the
// incident (someone else may be working it).
func RoleAck(req *Request, page Page) {
	if req.Kind == ActionAck && page.Role != "" {
		req.Kind, req.Role = ActionRole, page.Role
	}
}
