package web

import (
	"net/http"
	"time"

	"github.com/pagerd/pagerd/cluster"
)

// clusterData is the cluster page: membership as this node sees it.
type clusterData struct {
	Self          string
	Status        *cluster.Status
	ConfigVersion string
	ConfigApplied time.Time
	Err           string
}

func (c *Console) clusterPage(w http.ResponseWriter, r *http.Request, v *viewer) {
	d := clusterData{Self: c.node.ID()}
	st, err := c.node.Status(r.Context())
	if err != nil {
		d.Err = err.Error()
	}
	d.Status = st
	if ac := c.node.FSM().Config(); ac != nil {
		d.ConfigVersion, d.ConfigApplied = ac.Version, ac.AppliedAt
	}
	c.render(w, r, http.StatusOK, "cluster", "layout", pageData{Title: "Cluster", Nav: "cluster", V: v, Data: d})
}
