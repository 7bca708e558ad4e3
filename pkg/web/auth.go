package web

import (
	"bufio"
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"

	"github.com/rs/zerolog"
)

// Token is one API token with the name it is known by in logs.
type Token struct {
	Name  string
	Value string
}

// ErrTokenFile wraps every problem of a token file.
var ErrTokenFile = errors.New("bad api token file")

// ReadTokens reads a token file: one `name token` per line; blank lines
// and lines starting with # are skipped. Messages name the line, never
// the token.
func ReadTokens(path string) ([]Token, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrTokenFile, err)
	}
	defer f.Close()
	var out []Token
	names := map[string]bool{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) != 2 {
			return nil, fmt.Errorf("%w: %s line %d: want `name token` (two words)", ErrTokenFile, path, n)
		}
		if len(fields[1]) < 16 {
			return nil, fmt.Errorf("%w: %s line %d: the token of %q is shorter than 16 characters", ErrTokenFile, path, n, fields[0])
		}
		if names[fields[0]] {
			return nil, fmt.Errorf("%w: %s line %d: name %q given twice", ErrTokenFile, path, n, fields[0])
		}
		names[fields[0]] = true
		out = append(out, Token{Name: fields[0], Value: fields[1]})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrTokenFile, path, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: %s holds no token", ErrTokenFile, path)
	}
	return out, nil
}

// ErrInsecureListen is returned by CheckListen.
var ErrInsecureListen = errors.New("refusing to serve without tokens on a non-loopback address")

// CheckListen refuses a non-loopback listen address when no tokens are
// configured, unless insecure says so explicitly.
func CheckListen(addr string, tokens []Token, insecure bool) error {
	if len(tokens) > 0 || insecure {
		return nil
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("listen address %q: %w: want host:port", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("%w %q: anyone who reaches it could read every output and cancel tasksets; "+
		"give --api-token-file, listen on 127.0.0.1, or pass --insecure-listen", ErrInsecureListen, addr)
}

// cookieName holds a page user's token, set by the login form.
const cookieName = "rrr_token"

type auth struct {
	tokens []Token
	log    zerolog.Logger
	// loginPage answers a page request without a valid token (status 401).
	loginPage func(w http.ResponseWriter, r *http.Request, msg string)
}

func newAuth(tokens []Token, log zerolog.Logger) *auth { return &auth{tokens: tokens, log: log} }

// check returns the name of the token a request carries (Authorization:
// Bearer, else the cookie); ok is false when it carries none or a wrong
// one (then given says whether one was given).
func (a *auth) check(r *http.Request) (name string, ok, given bool) {
	v := ""
	if h := r.Header.Get("Authorization"); h != "" {
		v, given = strings.CutPrefix(h, "Bearer ")
		if !given {
			return "", false, true
		}
	} else if c, err := r.Cookie(cookieName); err == nil {
		v, given = c.Value, true
	}
	if !given {
		return "", false, false
	}
	return a.match(v)
}

// match compares v with every token in constant time.
func (a *auth) match(v string) (string, bool, bool) {
	name := ""
	for _, t := range a.tokens {
		if subtle.ConstantTimeCompare([]byte(v), []byte(t.Value)) == 1 {
			name = t.Name
		}
	}
	return name, name != "", true
}

// public routes need no token: the health check, and what the login page
// needs to be shown and used.
func public(r *http.Request) bool {
	switch r.URL.Path {
	case "/healthz", "/login", "/logout":
		return true
	}
	return strings.HasPrefix(r.URL.Path, "/assets/")
}

// wrap puts the token check in front of next.
func (a *auth) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(a.tokens) == 0 || public(r) {
			next.ServeHTTP(w, r)
			return
		}
		name, ok, given := a.check(r)
		if ok {
			a.log.Debug().Str("token", name).Str("method", r.Method).Str("path", r.URL.Path).Msg("request")
			next.ServeHTTP(w, r)
			return
		}
		if given {
			// Never the token itself: a typo of a real one would leak it.
			a.log.Warn().Str("remote", r.RemoteAddr).Str("method", r.Method).Str("path", r.URL.Path).
				Msg("refused a request with a wrong token")
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="rrr"`)
		if strings.HasPrefix(r.URL.Path, "/api/") || r.URL.Path == "/metrics" || r.Method != http.MethodGet {
			writeJSON(w, http.StatusUnauthorized, apiError{Error: "a valid token is required: send `Authorization: Bearer <token>` (see --api-token-file)"})
			return
		}
		msg := "This dashboard needs a token."
		if given {
			msg = "That token is not valid."
		}
		a.loginPage(w, r, msg)
	})
}
