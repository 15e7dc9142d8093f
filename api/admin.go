package api

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"time"

	"github.com/pagerd/pagerd/cluster"
	"github.com/pagerd/pagerd/config"
)

const (
	maxConfigBody   = 4 << 20
	maxSnapshotBody = 1 << 30
)

// ConfigView is GET /v1/config.
type ConfigView struct {
	Version   string    `json:"version"`
	AppliedAt time.Time `json:"applied_at"`
	YAML      string    `json:"yaml"`
	// Secrets holds a salted, slow digest of every secret (config.Secrets
	// names them), so `config plan` can say "secret changed" without the
	// secret ever leaving the cluster.
	Secrets map[string]string `json:"secrets"`
}

func (s *Server) getConfig(w http.ResponseWriter, r *http.Request) {
	ac := s.node.FSM().Config()
	writeJSON(w, http.StatusOK, ConfigView{Version: ac.Version, AppliedAt: ac.AppliedAt,
		YAML: config.Redacted(ac.Sources), Secrets: s.digests.get(ac)})
}

// ConfigUpload is the JSON form of PUT /v1/config, used by `pagerd config
// apply` to send several files at once. A plain YAML body is one file.
type ConfigUpload struct {
	Sources []config.Source `json:"sources"`
}

func (s *Server) putConfig(w http.ResponseWriter, r *http.Request) {
	sources, err := readConfigBody(w, r)
	if err != nil {
		writeBodyError(w, err)
		return
	}
	// The admission rule Parse leaves out (see config.CheckAccess): refuse a
	// config that would leave the API open, unless this is a --dev node and
	// the config says auth: none.
	cfg, err := config.Parse(sources, os.LookupEnv)
	if err == nil {
		err = cfg.CheckAccess(s.dev)
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	ac, err := s.node.ApplyConfig(r.Context(), sources)
	if err != nil {
		s.writeCommitError(w, err)
		return
	}
	s.log.Info("config applied", "version", ac.Version, "by", tokenName(r.Context()))
	writeJSON(w, http.StatusOK, map[string]any{"version": ac.Version, "applied_at": ac.AppliedAt})
}

func readConfigBody(w http.ResponseWriter, r *http.Request) ([]config.Source, error) {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "application/json" {
		var up ConfigUpload
		if err := decodeStrict(r, w, &up, maxConfigBody); err != nil {
			return nil, err
		}
		if len(up.Sources) == 0 {
			return nil, errors.New("sources: at least one file required")
		}
		return up.Sources, nil
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxConfigBody))
	if err != nil {
		return nil, err
	}
	if len(data) == 0 {
		return nil, errors.New("body: empty; send the YAML config")
	}
	return []config.Source{{Name: "config.yaml", Data: data}}, nil
}

func (s *Server) clusterStatus(w http.ResponseWriter, r *http.Request) {
	st, err := s.node.Status(r.Context())
	if err != nil {
		s.writeCommitError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

func (s *Server) join(w http.ResponseWriter, r *http.Request) {
	var req cluster.JoinRequest
	if err := decodeStrict(r, w, &req, maxBody); err != nil {
		writeBodyError(w, err)
		return
	}
	for field, v := range map[string]string{"id": req.ID, "raft_addr": req.RaftAddr, "http_addr": req.HTTPAddr} {
		if v == "" {
			writeError(w, http.StatusBadRequest, field+": required")
			return
		}
	}
	if node := fromNode(r.Context()); node != "" && node != req.ID {
		// A member's credential joins that member only; moving another
		// member's address takes an admin token.
		writeError(w, http.StatusForbidden, fmt.Sprintf("id: node %q may join only itself, not %q", node, req.ID))
		return
	}
	if err := s.node.Join(r.Context(), req); err != nil {
		if errors.Is(err, cluster.ErrMemberExists) {
			writeError(w, http.StatusConflict, "id: "+err.Error())
			return
		}
		s.writeCommitError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "joined", "id": req.ID})
}

func (s *Server) removeNode(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if id == s.node.ID() {
		writeError(w, http.StatusConflict, fmt.Sprintf("node %q is the leader serving this request; stop it or remove it from another leader", id))
		return
	}
	err := s.node.Remove(r.Context(), id)
	switch {
	case errors.Is(err, cluster.ErrUnknownNode):
		writeError(w, http.StatusNotFound, err.Error())
	case err != nil:
		s.writeCommitError(w, err)
	default:
		writeJSON(w, http.StatusOK, map[string]string{"status": "removed", "id": id})
	}
}

func (s *Server) saveSnapshot(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/octet-stream")
	// The snapshot is streamed; an error after the first byte can only cut the
	// stream, which the CLI detects by validating what it received.
	if err := s.node.SaveSnapshot(w); err != nil {
		s.log.Error("snapshot save", "err", err)
		writeError(w, http.StatusInternalServerError, err.Error())
	}
}

// restoreSnapshot spools the upload to a temporary file and restores from
// it as a stream: a snapshot of 100k incidents is ~100 MiB, and the leader
// need not hold it beside the replicated staging area.
func (s *Server) restoreSnapshot(w http.ResponseWriter, r *http.Request) {
	f, err := os.CreateTemp("", "pagerd-restore-*.snap")
	if err != nil {
		writeError(w, http.StatusInternalServerError, "spool snapshot: "+err.Error())
		return
	}
	defer os.Remove(f.Name())
	defer f.Close()
	size, err := io.Copy(f, http.MaxBytesReader(w, r.Body, maxSnapshotBody))
	if err != nil {
		if isFileError(err) {
			writeError(w, http.StatusInternalServerError, "spool snapshot: "+err.Error())
		} else {
			writeBodyError(w, err)
		}
		return
	}
	if err := rewind(f); err != nil {
		writeError(w, http.StatusInternalServerError, "spool snapshot: "+err.Error())
		return
	}
	if err := cluster.ValidateSnapshot(f); err != nil {
		writeError(w, http.StatusBadRequest, "snapshot: "+err.Error())
		return
	}
	if err := rewind(f); err != nil {
		writeError(w, http.StatusInternalServerError, "spool snapshot: "+err.Error())
		return
	}
	if err := s.node.RestoreSnapshotFrom(f); err != nil {
		s.writeCommitError(w, err)
		return
	}
	s.log.Warn("state restored from snapshot", "bytes", size, "by", tokenName(r.Context()))
	writeJSON(w, http.StatusOK, map[string]any{"status": "restored", "bytes": size})
}

func rewind(f *os.File) error {
	_, err := f.Seek(0, io.SeekStart)
	return err
}

// isFileError reports an error of the spool file (disk full, say) rather
// than of the request body.
func isFileError(err error) bool {
	var pe *os.PathError
	return errors.As(err, &pe)
}

// rotateReplyKey adds a new reply-token key; the previous one keeps
// verifying for reply.TokenLifetime. Secrets never leave the cluster.
func (s *Server) rotateReplyKey(w http.ResponseWriter, r *http.Request) {
	kr, err := s.node.RotateReplyKey(r.Context())
	if err != nil {
		s.writeCommitError(w, err)
		return
	}
	type keyView struct {
		ID       uint8      `json:"id"`
		NotAfter *time.Time `json:"not_after"`
	}
	keys := make([]keyView, 0, len(kr.Keys))
	for _, k := range kr.Keys {
		v := keyView{ID: k.ID}
		if !k.NotAfter.IsZero() {
			na := k.NotAfter.UTC()
			v.NotAfter = &na
		}
		keys = append(keys, v)
	}
	writeJSON(w, http.StatusOK, map[string]any{"keys": keys})
}
