package proc

import (
	"errors"
	"fmt"
	"strings"
)

// ErrTemplate is wrapped by every error of Split and Template.
var ErrTemplate = errors.New("bad command template")

// Split breaks a command line into words the way a POSIX shell does, and
// does nothing else: blanks separate words; '…' keeps everything literally;
// "…" keeps everything but lets a backslash escape $ ` " \ and a newline;
// outside quotes a backslash escapes any character (and drops a newline).
// No variable, glob, tilde or command substitution happens: $HOME stays
// "$HOME". An unterminated quote or a trailing backslash is an error.
func Split(line string) ([]string, error) {
	var (
		words  []string
		cur    strings.Builder
		inWord bool
	)
	rs := []rune(line)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case r == ' ' || r == '\t' || r == '\n' || r == '\r':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case r == '\\':
			if i+1 >= len(rs) {
				return nil, fmt.Errorf("%w: %q ends with a backslash", ErrTemplate, line)
			}
			i++
			if rs[i] != '\n' {
				cur.WriteRune(rs[i])
				inWord = true
			}
		case r == '\'':
			end := -1
			for j := i + 1; j < len(rs); j++ {
				if rs[j] == '\'' {
					end = j
					break
				}
			}
			if end < 0 {
				return nil, fmt.Errorf("%w: %q has an unterminated single quote", ErrTemplate, line)
			}
			cur.WriteString(string(rs[i+1 : end]))
			inWord = true
			i = end
		case r == '"':
			j := i + 1
			for ; j < len(rs) && rs[j] != '"'; j++ {
				if rs[j] == '\\' && j+1 < len(rs) && strings.ContainsRune("$`\"\\\n", rs[j+1]) {
					j++
					if rs[j] != '\n' {
						cur.WriteRune(rs[j])
					}
					continue
				}
				cur.WriteRune(rs[j])
			}
			if j >= len(rs) {
				return nil, fmt.Errorf("%w: %q has an unterminated double quote", ErrTemplate, line)
			}
			inWord = true
			i = j
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

// Template splits tpl with Split and then replaces every "{name}" of vars
// inside each word, so that a value with blanks or quotes stays one
// argument and is never read by a shell. An empty command is an error.
func Template(tpl string, vars map[string]string) ([]string, error) {
	words, err := Split(tpl)
	if err != nil {
		return nil, err
	}
	if len(words) == 0 {
		return nil, fmt.Errorf("%w: the command is empty", ErrTemplate)
	}
	pairs := make([]string, 0, 2*len(vars))
	for k, v := range vars {
		pairs = append(pairs, "{"+k+"}", v)
	}
	r := strings.NewReplacer(pairs...)
	for i, w := range words {
		words[i] = r.Replace(w)
	}
	return words, nil
}
