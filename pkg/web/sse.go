package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/rrr-dev/rrr/pkg/model"
	"github.com/rrr-dev/rrr/schema"
)

// message is one Server-Sent Event.
type message struct {
	event string
	data  []byte
}

// stream is one client's mailbox: it holds the newest message only, so
// that handing it a message never waits on the client.
type stream struct{ ch chan message }

func (st *stream) offer(m message) {
	for {
		select {
		case st.ch <- m:
			return
		default:
		}
		select { // drop the older message the client has not taken
		case <-st.ch:
		default:
		}
	}
}

// hub runs one watcher per taskset that someone watches.
type hub struct {
	s        *Server
	mu       sync.Mutex
	watchers map[string]*watcher
}

type watcher struct {
	streams map[*stream]bool
	last    *message
	stop    context.CancelFunc
}

func newHub(s *Server) *hub { return &hub{s: s, watchers: map[string]*watcher{}} }

// join adds a stream to the watcher of key, starting it if need be; the
// stream gets the last message at once.
func (h *hub) join(key string) *stream {
	st := &stream{ch: make(chan message, 1)}
	h.mu.Lock()
	defer h.mu.Unlock()
	w := h.watchers[key]
	if w == nil {
		ctx, stop := context.WithCancel(h.s.ctx)
		w = &watcher{streams: map[*stream]bool{}, stop: stop}
		h.watchers[key] = w
		go h.watch(ctx, key, w)
	}
	w.streams[st] = true
	if w.last != nil {
		st.offer(*w.last)
	}
	return st
}

// leave removes a stream; the last one out stops the watcher.
func (h *hub) leave(key string, st *stream) {
	h.mu.Lock()
	defer h.mu.Unlock()
	w := h.watchers[key]
	if w == nil {
		return
	}
	delete(w.streams, st)
	if len(w.streams) == 0 {
		w.stop()
		delete(h.watchers, key)
	}
}

func (h *hub) broadcast(w *watcher, m message) {
	h.mu.Lock()
	defer h.mu.Unlock()
	w.last = &m
	for st := range w.streams {
		st.offer(m)
	}
}

// watchPoll is the longest time between two reads of a watched taskset:
// the elapsed time and ETA move even when no event comes.
const watchPoll = 2 * time.Second

// watch reads the taskset after its events (no sooner than twice the time
// the last read took) and at least every watchPoll, until it is final or
// nobody watches.
func (h *hub) watch(ctx context.Context, key string, w *watcher) {
	id, _ := h.s.sc.Keys.TasksetID(key)
	sub := h.s.sc.SubscribeEvents(ctx, key)
	defer sub.Close()
	events, _ := schema.ConfirmedEvents(ctx, sub) // without events: read every watchPoll
	tick := time.NewTicker(watchPoll)
	defer tick.Stop()
	for {
		began := time.Now()
		l, err := h.s.load(ctx, id, model.LoadOptions{})
		gap := max(50*time.Millisecond, 2*time.Since(began))
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			h.broadcast(w, message{event: "redis-error", data: []byte(oneLine(err.Error()))})
		default:
			p := progressOf(l.Snap, l.Now)
			b, _ := json.Marshal(p)
			h.broadcast(w, message{event: "progress", data: b})
			if l.RedisErr != nil {
				h.broadcast(w, message{event: "redis-error", data: []byte(oneLine(l.RedisErr.Error()))})
			}
			if p.Final {
				<-ctx.Done()
				return
			}
		}
		var soon <-chan time.Time
		for waiting := true; waiting; {
			select {
			case <-ctx.Done():
				return
			case _, ok := <-events:
				if !ok {
					events = nil
				}
				if soon == nil {
					soon = time.After(gap)
				}
			case <-soon:
				waiting = false
			case <-tick.C:
				waiting = false
			}
		}
	}
}

// oneLine keeps an SSE data field on one line.
func oneLine(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c == '\n' || c == '\r' {
			b[i] = ' '
		}
	}
	return string(b)
}

// keepAlive is how often an idle stream gets a comment, so that proxies
// keep it open and a gone client is noticed.
const keepAlive = 15 * time.Second

// apiEvents streams a taskset's progress as Server-Sent Events: `progress`
// (the JSON of Progress) after each change, `redis-error` while Redis does
// not answer. The stream of a finished taskset sends its last progress.
func (s *Server) apiEvents(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	key, err := s.tasksetKey(id)
	if err != nil {
		writeError(w, err)
		return
	}
	if _, err := s.load(r.Context(), id, model.LoadOptions{}); err != nil && !redisDown(err) {
		writeError(w, err)
		return
	}
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	if err := rc.Flush(); err != nil {
		return
	}
	st := s.hub.join(key)
	defer s.hub.leave(key, st)
	ka := time.NewTicker(keepAlive)
	defer ka.Stop()
	write := func(text string) bool {
		_ = rc.SetWriteDeadline(time.Now().Add(s.cfg.StreamWriteTimeout))
		if _, err := fmt.Fprint(w, text); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	for {
		select {
		case <-r.Context().Done():
			return
		case <-s.ctx.Done():
			return
		case <-ka.C:
			if !write(": keep-alive\n\n") {
				return
			}
		case m := <-st.ch:
			if !write("event: " + m.event + "\ndata: " + string(m.data) + "\n\n") {
				s.log.Debug().Str("taskset", key).Str("remote", r.RemoteAddr).Msg("dropped a live-update client that does not read")
				return
			}
		}
	}
}
