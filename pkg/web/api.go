package web

import (
	"fmt"
	"net/http"

	"github.com/rrr-dev/rrr/pkg/model"
)

func (s *Server) apiTasksets(w http.ResponseWriter, r *http.Request) {
	f, err := s.filterOf(r.URL.Query())
	if err != nil {
		writeError(w, err)
		return
	}
	l, err := s.tasksets(r.Context(), f)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, l)
}

// apiTaskset answers the taskset with its outputs and logs, unless
// ?output=false (a big taskset's outputs are most of its size).
func (s *Server) apiTaskset(w http.ResponseWriter, r *http.Request) {
	out := r.URL.Query().Get("output") != "false"
	l, err := s.load(r.Context(), r.PathValue("id"), model.LoadOptions{Output: out, Logs: out})
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, s.tasksetView(l))
}

// Cancelled is the answer of a cancel.
type Cancelled struct {
	Key string `json:"key"`
	// Stopped is false when the taskset had finished already.
	Stopped bool `json:"stopped"`
}

func (s *Server) cancel(r *http.Request) (Cancelled, error) {
	key, err := s.tasksetKey(r.PathValue("id"))
	if err != nil {
		return Cancelled{}, err
	}
	who := "a token"
	if name, ok, _ := s.auth.check(r); ok {
		who = "token " + name
	} else if len(s.auth.tokens) == 0 {
		who = "no token"
	}
	reason := fmt.Sprintf("cancelled from the web dashboard (%s, from %s)", who, r.RemoteAddr)
	stopped, err := s.cl.Cancel(r.Context(), key, reason)
	if err != nil {
		return Cancelled{}, err
	}
	s.log.Info().Str("taskset", key).Bool("stopped", stopped).Str("by", who).Msg("cancel")
	return Cancelled{Key: key, Stopped: stopped}, nil
}

func (s *Server) apiCancel(w http.ResponseWriter, r *http.Request) {
	c, err := s.cancel(r)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

func (s *Server) apiSpec(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	h, err := s.specHistory(r.Context(), q.Get("spec"), q.Get("class"))
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, h)
}

func (s *Server) apiWorkers(w http.ResponseWriter, r *http.Request) {
	f, err := s.fleet(r.Context())
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, f)
}
