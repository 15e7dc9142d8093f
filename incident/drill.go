package incident

// DrillRef names the drill and the run that opened an incident.
type DrillRef struct {
	ID  string `json:"id"`
	Run string `json:"run"`
}
