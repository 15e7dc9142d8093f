package config

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// expand replaces ${NAME} references in s. "$$" is a literal "$"; a "$" not
// followed by "{" or "$" is kept as is. Errors name the variable but never
// quote s, because s may be a secret.
func expand(s string, lookup func(string) (string, bool)) (string, error) {
	if !strings.Contains(s, "$") {
		return s, nil
	}
	var b strings.Builder
	var firstErr error
	scanRefs(s, func(lit string) { b.WriteString(lit) }, func(name string, err error) {
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			return
		}
		v, ok := lookup(name)
		if !ok {
			if firstErr == nil {
				firstErr = fmt.Errorf("environment variable %q is not set", name)
			}
			return
		}
		b.WriteString(v)
	})
	if firstErr != nil {
		return "", firstErr
	}
	return b.String(), nil
}

// scanRefs walks s, calling lit for literal text and ref for each ${NAME}
// reference (with an error for a malformed one).
func scanRefs(s string, lit func(string), ref func(name string, err error)) {
	for s != "" {
		i := strings.IndexByte(s, '$')
		if i < 0 || i == len(s)-1 {
			lit(s)
			return
		}
		lit(s[:i])
		switch s[i+1] {
		case '$':
			lit("$")
			s = s[i+2:]
		case '{':
			end := strings.IndexByte(s[i+2:], '}')
			if end < 0 {
				ref("", fmt.Errorf("unterminated ${ reference (write $$ for a literal $)"))
				return
			}
			name := s[i+2 : i+2+end]
			if !validEnvName(name) {
				ref("", fmt.Errorf("invalid variable name in ${...} reference (want letters, digits and _, not starting with a digit)"))
			} else {
				ref(name, nil)
			}
			s = s[i+2+end+1:]
		default:
			lit("$")
			s = s[i+1:]
		}
	}
}

func validEnvName(name string) bool {
	if name == "" {
		return false
	}
	for i, r := range name {
		switch {
		case r == '_', r >= 'A' && r <= 'Z', r >= 'a' && r <= 'z':
		case r >= '0' && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// isPureRef reports whether s is exactly one ${NAME} reference. Such a value
// names where a secret lives rather than being the secret, so Redacted keeps it.
func isPureRef(s string) bool {
	if !strings.HasPrefix(s, "${") || !strings.HasSuffix(s, "}") {
		return false
	}
	return validEnvName(s[2 : len(s)-1])
}

// EnvRefs returns the sorted, unique names of the ${NAME} references in the
// sources' scalar values. The leader looks these up once when a config is
// applied and replicates the values with it, so that every node expands the
// config identically whatever its own environment holds.
func EnvRefs(sources []Source) []string {
	seen := map[string]bool{}
	for _, src := range sources {
		docs, err := parseDocuments(src.Data)
		if err != nil {
			continue
		}
		for _, d := range docs {
			collectRefs(d, false, seen, map[*yaml.Node]bool{})
		}
	}
	out := make([]string, 0, len(seen))
	for name := range seen {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

func collectRefs(n *yaml.Node, isKey bool, seen map[string]bool, visited map[*yaml.Node]bool) {
	if n == nil || visited[n] {
		return
	}
	visited[n] = true
	if n.Kind == yaml.ScalarNode && !isKey {
		scanRefs(n.Value, func(string) {}, func(name string, err error) {
			if err == nil {
				seen[name] = true
			}
		})
	}
	for i, c := range n.Content {
		collectRefs(c, n.Kind == yaml.MappingNode && i%2 == 0, seen, visited)
	}
}

// CaptureEnv looks up every variable the sources reference and returns the
// ones that are set. It is what the leader replicates alongside the sources.
func CaptureEnv(sources []Source, lookup func(string) (string, bool)) map[string]string {
	env := map[string]string{}
	for _, name := range EnvRefs(sources) {
		if v, ok := lookup(name); ok {
			env[name] = v
		}
	}
	return env
}

// LookupMap adapts captured values (see CaptureEnv) to Parse's lookupEnv.
func LookupMap(env map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		v, ok := env[name]
		return v, ok
	}
}

// envValues maps a field path to its expanded value and the text written
// (with its ${NAME} references). Values from the environment are often
// secrets put in a field that is not marked secret; messages about such a
// field show what was written, never what the environment held.
type envValues map[string][2]string

func (e *envValues) record(path, expanded, written string) {
	if *e == nil {
		*e = envValues{}
	}
	(*e)[path] = [2]string{expanded, written}
}

// hide replaces the expanded value of path's field in msg by what was
// written. Quoted forms are replaced always; a bare value only when it is
// long enough not to collide with the rest of the message.
func (e envValues) hide(path, msg string) string {
	v, ok := e[path]
	if !ok || v[0] == "" {
		return msg
	}
	msg = strings.ReplaceAll(msg, strconv.Quote(v[0]), strconv.Quote(v[1]))
	if len(v[0]) >= 4 {
		msg = strings.ReplaceAll(msg, v[0], v[1])
	}
	return msg
}
