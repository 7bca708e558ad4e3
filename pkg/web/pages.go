package web

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/rrr-dev/rrr/pkg/client"
	"github.com/rrr-dev/rrr/pkg/model"
	"github.com/rrr-dev/rrr/schema"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed assets
var assetFS embed.FS

// pages holds one template set per page, each with the layout.
type pages struct{ t map[string]*template.Template }

var funcs = template.FuncMap{
	"stamp": func(t model.Time) string {
		if t.IsZero() {
			return "-"
		}
		return t.UTC().Format("2006-01-02 15:04:05Z")
	},
	"seconds": func(s float64) string {
		if s <= 0 {
			return "-"
		}
		return client.FormatDuration(time.Duration(s * float64(time.Second)))
	},
	"percent": func(f float64) string {
		if f <= 0 {
			return "-"
		}
		return fmt.Sprintf("%.0f%%", 100*f)
	},
	"eta": func(s *float64, final bool) string {
		switch {
		case final:
			return "-"
		case s == nil:
			return "unknown"
		}
		return client.FormatDuration(time.Duration(*s * float64(time.Second)))
	},
	"estimate": func(e *int) string {
		if e == nil {
			return "-"
		}
		return client.FormatDuration(time.Duration(*e) * time.Second)
	},
	"estimate2": func(e *float64) string {
		if e == nil {
			return "none"
		}
		return client.FormatDuration(time.Duration(*e * float64(time.Second)))
	},
	"age": func(s *float64) string {
		if s == nil {
			return "-"
		}
		return fmt.Sprintf("%.1fs ago", *s)
	},
	"state":     client.TaskState,
	"trialLine": client.TrialLine,
	"final":     model.FinalTrial,
	"took": func(t model.Task) string {
		if ft := model.FinalTrial(t); ft != nil && ft.Duration() > 0 {
			return client.FormatDuration(ft.Duration())
		}
		return "-"
	},
	"trialStates": func(t model.Task) string {
		ss := make([]string, 0, len(t.Trials))
		for _, tr := range t.Trials {
			ss = append(ss, orWord(tr.Status, "running"))
		}
		return strings.Join(ss, ", ")
	},
	"specURL": func(spec, class string) string {
		return "/specs?" + url.Values{"spec": {spec}, "class": {class}}.Encode()
	},
	"tasksetID": func(key string) string {
		if i := strings.LastIndex(key, ":taskset:"); i >= 0 {
			return key[i+len(":taskset:"):]
		}
		return key
	},
	"inc": func(n int) int { return n + 1 },
	"dec": func(n int) int { return n - 1 },
}

func orWord(s, word string) string {
	if s == "" {
		return word
	}
	return s
}

func newPages() (*pages, error) {
	p := &pages{t: map[string]*template.Template{}}
	for _, name := range []string{"tasksets", "taskset", "spec", "workers", "login", "error"} {
		t, err := template.New(name).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/pager.html",
			"templates/gantt.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("%w: template %s: %w", ErrConfig, name, err)
		}
		p.t[name] = t
	}
	return p, nil
}

// page is what the layout reads; Data is the page's own.
type page struct {
	Title      string
	Auth       bool
	RedisError string
	Source     string
	Problems   []string
	// the pages' own fields
	Filter   Filter
	Filtered bool
	Statuses []string
	List     List
	Pager    Pager
	View     *TasksetView
	Failed   []model.Task
	// FailedMore counts failed specs not shown with their output.
	FailedMore int
	Specs      []model.Task
	Gantt      *Gantt
	Notice     string
	History    *SpecHistory
	Fleet      *Fleet
	Message    string
	Next       string
}

// Pager links the pages of a list.
type Pager struct {
	Page, Pages, Total int
	What               string
	base               url.Values
	path               string
}

// URL is the link to page n.
func (p Pager) URL(n int) string {
	q := url.Values{}
	for k, v := range p.base {
		q[k] = v
	}
	q.Set("page", strconv.Itoa(n))
	return p.path + "?" + q.Encode()
}

// render writes a page. It is rendered whole before anything is sent, so
// that a failure is an error page; bytes that are not UTF-8 (an output can
// hold any) become U+FFFD, the one thing the escaping leaves to us.
func (s *Server) render(w http.ResponseWriter, code int, name string, p *page) {
	p.Auth = len(s.auth.tokens) > 0
	var buf bytes.Buffer
	if err := s.pages.t[name].ExecuteTemplate(&buf, "layout", p); err != nil {
		s.log.Error().Err(err).Str("page", name).Msg("render page")
		http.Error(w, "rrr web: cannot render the page: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; style-src 'self'; img-src 'self' data:")
	w.WriteHeader(code)
	_, _ = w.Write(bytes.ToValidUTF8(buf.Bytes(), []byte("\uFFFD")))
}

func (s *Server) errorPage(w http.ResponseWriter, err error) {
	code := status(err)
	p := &page{Title: http.StatusText(code), Message: err.Error()}
	if redisDown(err) {
		p.RedisError = err.Error()
	}
	s.render(w, code, "error", p)
}

func (s *Server) pageTasksets(w http.ResponseWriter, r *http.Request) {
	f, err := s.filterOf(r.URL.Query())
	if err != nil {
		s.errorPage(w, err)
		return
	}
	l, err := s.tasksets(r.Context(), f)
	if err != nil {
		s.errorPage(w, err)
		return
	}
	base := url.Values{}
	for k, v := range map[string]string{"rsync_name": f.RsyncName, "status": f.Status, "class": f.Class} {
		if v != "" {
			base.Set(k, v)
		}
	}
	if f.PerPage != s.cfg.PageSize {
		base.Set("per_page", strconv.Itoa(f.PerPage))
	}
	s.render(w, http.StatusOK, "tasksets", &page{Title: "tasksets", RedisError: l.RedisError, Problems: l.Problems,
		Filter: f, Filtered: len(base) > 0, Statuses: statuses, List: l,
		Pager: Pager{Page: l.Page, Pages: l.Pages(), Total: l.Total, What: "tasksets", base: base, path: "/"}})
}

// failedShown bounds the failed specs shown with their output at the top.
const failedShown = 50

// specOrder puts the specs a person looks for first: failed, flaky, then
// those at work, then the rest in their order.
var specOrder = map[string]int{"failed": 0, "flaky": 1, "retrying": 2, "running": 3, "queued": 4, "pending": 5, "passed": 6}

func (s *Server) pageTaskset(w http.ResponseWriter, r *http.Request) {
	l, err := s.load(r.Context(), r.PathValue("id"), model.LoadOptions{Output: true, Logs: true})
	if err != nil {
		s.errorPage(w, err)
		return
	}
	v := s.tasksetView(l)
	p := &page{Title: "taskset " + v.ID, View: v, RedisError: v.RedisError, Problems: v.Problems, Notice: r.URL.Query().Get("notice")}
	if l.RedisErr != nil {
		p.Source = l.Source
	}
	specs := append([]model.Task(nil), v.Tasks...)
	sort.SliceStable(specs, func(i, j int) bool {
		return specOrder[client.TaskState(specs[i])] < specOrder[client.TaskState(specs[j])]
	})
	for _, t := range specs {
		if t.Status != schema.StatusFailed {
			break
		}
		if len(p.Failed) == failedShown {
			p.FailedMore++
			continue
		}
		p.Failed = append(p.Failed, t)
	}
	per := 4 * s.cfg.PageSize
	n := 1
	if q := r.URL.Query().Get("page"); q != "" {
		if n, err = strconv.Atoi(q); err != nil || n < 1 {
			s.errorPage(w, fmt.Errorf("%w: page=%q: want a whole number from 1", errBadQuery, q))
			return
		}
	}
	from := min(len(specs), (n-1)*per)
	p.Specs = specs[from:min(len(specs), from+per)]
	p.Pager = Pager{Page: n, Pages: max(1, (len(specs)+per-1)/per), Total: len(specs), What: "specs", path: "/tasksets/" + url.PathEscape(v.ID)}
	p.Gantt = ganttOf(v.Snapshot, l.Now)
	s.render(w, http.StatusOK, "taskset", p)
}

// pageCancel is the cancel form of a taskset page: it cancels, then shows
// the page again with what happened.
func (s *Server) pageCancel(w http.ResponseWriter, r *http.Request) {
	c, err := s.cancel(r)
	if err != nil {
		s.errorPage(w, err)
		return
	}
	notice := "cancelled"
	if !c.Stopped {
		notice = "it had finished already"
	}
	id, _ := s.sc.Keys.TasksetID(c.Key)
	http.Redirect(w, r, "/tasksets/"+url.PathEscape(id)+"?notice="+url.QueryEscape(notice), http.StatusSeeOther)
}

func (s *Server) pageSpec(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	h, err := s.specHistory(r.Context(), q.Get("spec"), q.Get("class"))
	if err != nil {
		s.errorPage(w, err)
		return
	}
	s.render(w, http.StatusOK, "spec", &page{Title: "spec " + h.Spec, History: h, RedisError: h.RedisError})
}

func (s *Server) pageWorkers(w http.ResponseWriter, r *http.Request) {
	f, err := s.fleet(r.Context())
	if err != nil {
		s.errorPage(w, err)
		return
	}
	s.render(w, http.StatusOK, "workers", &page{Title: "workers", Fleet: f, Problems: f.Problems})
}

// loginPage is the answer to a page request without a valid token.
func (s *Server) loginPage(w http.ResponseWriter, r *http.Request, msg string) {
	next := r.URL.RequestURI()
	if r.URL.Path == "/login" {
		next = r.URL.Query().Get("next")
	}
	s.render(w, http.StatusUnauthorized, "login", &page{Title: "log in", Message: msg, Next: next})
}

func (s *Server) pageLogin(w http.ResponseWriter, r *http.Request) {
	if len(s.auth.tokens) == 0 {
		http.Redirect(w, r, "/", http.StatusSeeOther) // nothing to log in to
		return
	}
	s.loginPage(w, r, "")
}

// login checks the token of the form and keeps it in a cookie: HttpOnly,
// SameSite=Strict (a page of another site cannot post a cancel with it).
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	tok := r.PostFormValue("token")
	if _, ok, _ := s.auth.match(tok); !ok {
		s.log.Warn().Str("remote", r.RemoteAddr).Msg("refused a login with a wrong token")
		s.loginPage(w, r, "That token is not valid.")
		return
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: tok, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: r.TLS != nil})
	http.Redirect(w, r, safeNext(r.PostFormValue("next")), http.StatusSeeOther)
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// safeNext keeps a redirect after login on this site.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/"
	}
	return next
}

func (s *Server) asset(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	b, err := assetFS.ReadFile("assets/" + path.Base(name))
	if err != nil || path.Base(name) != name {
		http.NotFound(w, r)
		return
	}
	switch path.Ext(name) {
	case ".js":
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	case ".css":
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
	}
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(b)
}
