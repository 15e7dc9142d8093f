package config

import (
	"fmt"
	"sort"
	"strings"
)

// Error is one problem in a config source, located at FILE:LINE:COL (1-based).
// Msg never contains the value of a secret field.
type Error struct {
	File string
	Line int
	Col  int
	Msg  string
}

// Error formats the problem the way `pagerd config check` prints it.
func (e Error) Error() string {
	file := e.File
	if file == "" {
		file = "config"
	}
	return fmt.Sprintf("%s:%d:%d: %s", file, e.Line, e.Col, e.Msg)
}

// Errors is every problem found in a config, sorted by position. Parse collects
// them all so an operator fixes a config in one round instead of one per error.
type Errors []Error

// Error prints one problem per line.
func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// pos is a location in a source.
type pos struct {
	file      string
	line, col int
}

func (p pos) String() string { return fmt.Sprintf("%s:%d:%d", p.file, p.line, p.col) }

// errorList collects errors while loading.
type errorList struct {
	errs Errors
}

func (l *errorList) add(p pos, format string, args ...any) {
	l.errs = append(l.errs, Error{File: p.file, Line: p.line, Col: p.col, Msg: fmt.Sprintf(format, args...)})
}

// sorted returns the errors ordered by source (in the order the sources were
// given), line, column and message, without exact duplicates (an aliased node
// decoded twice reports the same problem twice).
func (l *errorList) sorted(order []string) Errors {
	rank := make(map[string]int, len(order))
	for i, name := range order {
		if _, ok := rank[name]; !ok {
			rank[name] = i
		}
	}
	fileRank := func(f string) int {
		if r, ok := rank[f]; ok {
			return r
		}
		return len(order)
	}
	out := append(Errors(nil), l.errs...)
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if ra, rb := fileRank(a.File), fileRank(b.File); ra != rb {
			return ra < rb
		}
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		if a.Col != b.Col {
			return a.Col < b.Col
		}
		return a.Msg < b.Msg
	})
	dedup := out[:0]
	for i, e := range out {
		if i > 0 && e == out[i-1] {
			continue
		}
		dedup = append(dedup, e)
	}
	return dedup
}
