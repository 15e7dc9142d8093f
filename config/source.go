package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Source is the raw text of one config file. Name is what errors are reported
// against (the path as given, or a name chosen by an API client).
type Source struct {
	Name string `json:"name"`
	Data []byte `json:"data"` // base64 in JSON
}

// ReadSources reads config files. Each path is a YAML file or a directory whose
// *.yaml files are read in name order (not recursively). The result is meant
// for Parse, which merges all sources into one config.
func ReadSources(paths ...string) ([]Source, error) {
	if len(paths) == 0 {
		return nil, errors.New("no config path given")
	}
	var out []Source
	for _, p := range paths {
		srcs, err := readPath(p)
		if err != nil {
			return nil, err
		}
		out = append(out, srcs...)
	}
	return out, nil
}

func readPath(p string) ([]Source, error) {
	info, err := os.Stat(p)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	if !info.IsDir() {
		if info.Size() > MaxConfigBytes {
			return nil, sizeError(p, info.Size())
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("read config: %w", err)
		}
		return []Source{{Name: p, Data: data}}, nil
	}
	entries, err := os.ReadDir(p)
	if err != nil {
		return nil, fmt.Errorf("read config directory: %w", err)
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".yaml") {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	if len(names) == 0 {
		return nil, fmt.Errorf("read config directory %s: no *.yaml files", p)
	}
	out := make([]Source, 0, len(names))
	for _, n := range names {
		full := filepath.Join(p, n)
		if fi, err := os.Stat(full); err == nil && fi.Size() > MaxConfigBytes {
			return nil, sizeError(full, fi.Size())
		}
		data, err := os.ReadFile(full)
		if err != nil {
			return nil, fmt.Errorf("read config: %w", err)
		}
		out = append(out, Source{Name: full, Data: data})
	}
	return out, nil
}

// Load reads the config at paths and parses it with the process environment.
func Load(paths ...string) (*Config, error) {
	srcs, err := ReadSources(paths...)
	if err != nil {
		return nil, err
	}
	return Parse(srcs, os.LookupEnv)
}

// yamlLineRE pulls the line number out of yaml.v3's syntax errors, which carry
// no column ("yaml: line 3: did not find expected key").
var yamlLineRE = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

// parseSource parses one source into its top-level node (nil for an empty
// file). Syntax errors are reported with the best position yaml.v3 gives.
func parseSource(src Source, errs *errorList) *yaml.Node {
	docs, err := parseDocuments(src.Data)
	if err != nil {
		line, msg := 1, err.Error()
		if m := yamlLineRE.FindStringSubmatch(strings.TrimPrefix(msg, "yaml: ")); m != nil {
			if n, convErr := strconv.Atoi(m[1]); convErr == nil {
				line = n
			}
			msg = m[2]
		}
		errs.add(pos{src.Name, line, 1}, "invalid YAML: %s", strings.TrimPrefix(msg, "yaml: "))
		return nil
	}
	if len(docs) > 1 {
		d := docs[1]
		errs.add(pos{src.Name, d.Line, d.Column}, "a config file holds one YAML document; split further documents into their own files")
	}
	if len(docs) == 0 || len(docs[0].Content) == 0 {
		return nil
	}
	return docs[0].Content[0]
}

// parseDocuments decodes every document in data. yaml.v3 is not supposed to
// panic on any input, but a config loader is an input boundary, so a panic is
// turned into an error rather than taking the node down.
func parseDocuments(data []byte) (docs []*yaml.Node, err error) {
	defer func() {
		if r := recover(); r != nil {
			docs, err = nil, fmt.Errorf("yaml parser failed: %v", r)
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc yaml.Node
		if err := dec.Decode(&doc); err != nil {
			if errors.Is(err, io.EOF) {
				return docs, nil
			}
			return nil, err
		}
		docs = append(docs, &doc)
	}
}

// fileIndex remembers which source every node came from, so that errors found
// after merging still point at the right file.
type fileIndex map[*yaml.Node]string

func (fi fileIndex) record(n *yaml.Node, file string) {
	if n == nil {
		return
	}
	if _, seen := fi[n]; seen {
		return // anchors can make the tree a graph
	}
	fi[n] = file
	for _, c := range n.Content {
		fi.record(c, file)
	}
}

func (fi fileIndex) pos(n *yaml.Node) pos {
	if n == nil {
		return pos{"config", 1, 1}
	}
	return pos{fi[n], n.Line, n.Column}
}

// merge combines the top-level mappings of several sources into one. Lists are
// concatenated in source order; any other key set in two files is an error at
// the second place naming the first, because silently letting one file win
// would hide a mistake.
func merge(roots []*yaml.Node, fi fileIndex, errs *errorList) *yaml.Node {
	out := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: 1, Column: 1}
	index := map[string]int{} // key -> index of its value in out.Content
	for _, root := range roots {
		if root == nil {
			continue
		}
		if root.Kind != yaml.MappingNode {
			errs.add(fi.pos(root), "the top level of a config file must be a mapping, not %s", describe(root))
			continue
		}
		if len(out.Content) == 0 {
			fi[out] = fi[root]
			out.Line, out.Column = root.Line, root.Column
		}
		for i := 0; i+1 < len(root.Content); i += 2 {
			k, v := root.Content[i], root.Content[i+1]
			if isNull(v) {
				continue // "users:" with nothing under it sets nothing
			}
			j, seen := index[k.Value]
			if !seen || k.Kind != yaml.ScalarNode {
				index[k.Value] = len(out.Content) + 1
				out.Content = append(out.Content, k, v)
				continue
			}
			prevKey, prev := out.Content[j-1], out.Content[j]
			if fi[prevKey] == fi[k] {
				// Same file: the decoder reports the duplicate key.
				out.Content = append(out.Content, k, v)
				continue
			}
			if resolve(prev).Kind == yaml.SequenceNode && resolve(v).Kind == yaml.SequenceNode {
				out.Content[j] = concat(resolve(prev), resolve(v), fi)
				continue
			}
			errs.add(fi.pos(k), "%s: already set at %s (only lists are combined across files)", k.Value, fi.pos(prevKey))
		}
	}
	return out
}

func concat(a, b *yaml.Node, fi fileIndex) *yaml.Node {
	n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Line: a.Line, Column: a.Column, Style: a.Style}
	n.Content = append(append([]*yaml.Node(nil), a.Content...), b.Content...)
	fi[n] = fi[a]
	return n
}

// resolve follows an alias to its anchored node.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && n.Alias != nil && i < 100; i++ {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	n = resolve(n)
	return n == nil || n.Kind == 0 || (n.Kind == yaml.ScalarNode && n.Tag == "!!null")
}

// describe names a node's kind for "expected X, got Y" messages. It never
// includes the value, so it is safe for secret fields.
func describe(n *yaml.Node) string {
	n = resolve(n)
	switch {
	case n == nil || isNull(n):
		return "null"
	case n.Kind == yaml.MappingNode:
		return "a mapping"
	case n.Kind == yaml.SequenceNode:
		return "a list"
	case n.Kind == yaml.ScalarNode:
		return "a scalar"
	case n.Kind == yaml.AliasNode:
		return "an unresolved alias"
	}
	return "an unknown node"
}
