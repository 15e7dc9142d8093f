package config

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Aliases let a small document expand to an enormous one ("billion laughs").
// Decoding may visit at most aliasFactor times the nodes actually written
// (plus some slack), which ordinary reuse of anchors never approaches.
const (
	aliasFactor    = 10
	aliasSlack     = 10_000
	maxDecodeNodes = 1_000_000
)

// decodeBudget is how many nodes decoding a tree of written nodes may visit.
func decodeBudget(written int) int {
	return min(aliasFactor*written+aliasSlack, maxDecodeNodes)
}

var durationType = reflect.TypeOf(Duration(0))

// decoder turns a yaml.Node tree into Go values by walking the target type's
// yaml tags. It exists instead of yaml.Node.Decode because that stops at the
// first error, does not reject unknown keys with a position, and cannot expand
// ${NAME} per field (needed to keep secrets out of messages).
type decoder struct {
	files  fileIndex
	lookup func(string) (string, bool)
	errs   *errorList
	// where records the position of every decoded path ("users[0].phone"), so
	// validation can report problems at the offending node.
	where   map[string]pos
	visited int
	budget  int
	tooBig  bool
	// replicated: reading a committed config (ParseReplicated).
	replicated bool
	// bad holds paths that already have an error, so validation does not
	// pile a second, derived complaint onto the same field.
	bad map[string]bool
	// fromEnv holds the fields whose value came from ${NAME} expansion, so
	// messages show the reference instead of the environment's value.
	fromEnv envValues
}

// fail reports a value at path that could not be decoded, and remembers the
// path so that validation stays quiet about it and everything below it.
func (d *decoder) fail(n *yaml.Node, path, format string, args ...any) {
	if d.bad == nil {
		d.bad = map[string]bool{}
	}
	d.bad[path] = true
	d.report(n, path, format, args...)
}

// report reports a problem in the mapping at path (a bad key) that leaves the
// rest of the value usable.
func (d *decoder) report(n *yaml.Node, path, format string, args ...any) {
	d.errs.add(d.at(n), "%s: %s", label(path), d.fromEnv.hide(path, fmt.Sprintf(format, args...)))
}

func (d *decoder) at(n *yaml.Node) pos { return d.files.pos(n) }

// decode stores node n into v. path names the field in messages; secret marks
// a field whose value must never be printed.
func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string, secret bool) {
	if d.tooBig || n == nil {
		return
	}
	if d.visited++; d.visited > d.budget {
		d.tooBig = true
		d.errs.add(d.at(n), "config too large: aliases expand it beyond %d nodes", d.budget)
		return
	}
	if _, ok := d.where[path]; !ok {
		d.where[path] = d.at(n)
	}
	if n.Kind == yaml.AliasNode {
		target := resolve(n)
		if target == nil || target.Kind == yaml.AliasNode {
			d.fail(n, path, "unresolved alias")
			return
		}
		n = target
	}
	if isNull(n) {
		return // absent and null both mean the zero value
	}
	switch {
	case v.Type() == durationType:
		d.decodeDuration(n, v, path)
	case v.Kind() == reflect.Pointer:
		elem := reflect.New(v.Type().Elem())
		d.decode(n, elem.Elem(), path, secret)
		v.Set(elem)
	case v.Kind() == reflect.Struct:
		d.decodeStruct(n, v, path)
	case v.Kind() == reflect.Slice:
		d.decodeSlice(n, v, path, secret)
	case v.Kind() == reflect.Map:
		d.decodeMap(n, v, path, secret)
	case v.Kind() == reflect.String:
		if s, ok := d.scalar(n, path, secret, "a string"); ok {
			v.SetString(s)
		}
	case v.Kind() == reflect.Int:
		d.decodeInt(n, v, path, secret)
	case v.Kind() == reflect.Bool:
		d.decodeBool(n, v, path, secret)
	default:
		d.fail(n, path, "internal error: cannot decode into %s", v.Type())
	}
}

// scalar returns n's text with ${NAME} references expanded.
func (d *decoder) scalar(n *yaml.Node, path string, secret bool, want string) (string, bool) {
	if n.Kind != yaml.ScalarNode {
		d.fail(n, path, "expected %s, got %s", want, describe(n))
		return "", false
	}
	s, err := expand(n.Value, d.lookup)
	if err != nil {
		d.fail(n, path, "%v", err)
		return "", false
	}
	if s != n.Value {
		d.fromEnv.record(path, s, n.Value)
	}
	return s, true
}

func (d *decoder) decodeDuration(n *yaml.Node, v reflect.Value, path string) {
	s, ok := d.scalar(n, path, false, "a duration")
	if !ok {
		return
	}
	dur, err := ParseDuration(s)
	if err != nil && d.replicated {
		dur, err = legacyParseDuration(s)
	}
	if err != nil {
		d.fail(n, path, "%v", err)
		return
	}
	v.SetInt(int64(dur))
}

func (d *decoder) decodeInt(n *yaml.Node, v reflect.Value, path string, secret bool) {
	s, ok := d.scalar(n, path, secret, "an integer")
	if !ok {
		return
	}
	i, err := strconv.Atoi(s)
	if err != nil {
		d.fail(n, path, "expected an integer, got %s", shown(s, secret))
		return
	}
	v.SetInt(int64(i))
}

func (d *decoder) decodeBool(n *yaml.Node, v reflect.Value, path string, secret bool) {
	s, ok := d.scalar(n, path, secret, "true or false")
	if !ok {
		return
	}
	switch strings.ToLower(s) {
	case "true":
		v.SetBool(true)
	case "false":
		v.SetBool(false)
	default:
		d.fail(n, path, "expected true or false, got %s", shown(s, secret))
	}
}

func (d *decoder) decodeSlice(n *yaml.Node, v reflect.Value, path string, secret bool) {
	if n.Kind != yaml.SequenceNode {
		d.fail(n, path, "expected a list, got %s", describe(n))
		return
	}
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, c := range n.Content {
		d.decode(c, s.Index(i), path+"["+strconv.Itoa(i)+"]", secret)
	}
	v.Set(s)
}

func (d *decoder) decodeMap(n *yaml.Node, v reflect.Value, path string, secret bool) {
	if n.Kind != yaml.MappingNode {
		d.fail(n, path, "expected a mapping, got %s", describe(n))
		return
	}
	if v.Type().Key().Kind() != reflect.String {
		d.fail(n, path, "internal error: map key type %s", v.Type().Key())
		return
	}
	m := reflect.MakeMapWithSize(v.Type(), len(n.Content)/2)
	first := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		key, ok := d.key(k, path, first)
		if !ok {
			continue
		}
		elem := reflect.New(v.Type().Elem()).Elem()
		d.decode(val, elem, mapPath(path, key), secret)
		m.SetMapIndex(reflect.ValueOf(key).Convert(v.Type().Key()), elem)
	}
	v.Set(m)
}

func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.fail(n, path, "expected a mapping, got %s", describe(n))
		return
	}
	fields := structFields(v.Type())
	first := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		key, ok := d.key(k, path, first)
		if !ok {
			continue
		}
		f, known := fields.byName[key]
		if !known {
			d.report(k, path, "unknown key %q (allowed: %s)", key, strings.Join(fields.names, ", "))
			continue
		}
		d.decode(val, v.Field(f.index), joinPath(path, key), f.secret)
	}
}

// key validates a mapping key and reports a key repeated in the same mapping
// (yaml.v3 only detects that when decoding into Go values, not into nodes).
func (d *decoder) key(k *yaml.Node, path string, first map[string]*yaml.Node) (string, bool) {
	k = resolve(k)
	if k == nil || k.Kind != yaml.ScalarNode {
		d.report(k, path, "keys must be strings, got %s", describe(k))
		return "", false
	}
	if k.Tag == "!!merge" {
		d.report(k, path, "merge keys (<<) are not supported")
		return "", false
	}
	if prev, dup := first[k.Value]; dup {
		d.report(k, path, "duplicate key %q (first set at %s)", k.Value, d.at(prev))
		return "", false
	}
	first[k.Value] = k
	return k.Value, true
}

// field describes one decodable struct field.
type field struct {
	index  int
	secret bool // never quoted in messages
	// urlSecret: a URL whose path and query are the secret part; Redacted
	// keeps its scheme and host (secret:"url").
	urlSecret bool
}

type fieldTable struct {
	byName map[string]field
	names  []string // in declaration order, for "allowed:" lists
}

func structFields(t reflect.Type) fieldTable {
	ft := fieldTable{byName: map[string]field{}}
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		name, _, _ := strings.Cut(sf.Tag.Get("yaml"), ",")
		if name == "" || name == "-" || !sf.IsExported() {
			continue
		}
		tag := sf.Tag.Get("secret")
		ft.byName[name] = field{index: i, secret: tag != "", urlSecret: tag == "url"}
		ft.names = append(ft.names, name)
	}
	return ft
}

// shown quotes a value for a message, or hides it when it is a secret.
func shown(s string, secret bool) string {
	if secret {
		return "a value that is not shown (secret)"
	}
	return strconv.Quote(s)
}

// label is the path as it starts a message; the root has no path.
func label(path string) string {
	if path == "" {
		return "config"
	}
	return path
}

func joinPath(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func mapPath(path, key string) string {
	if validEnvName(key) || (key != "" && strings.Trim(key, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") == "") {
		return joinPath(path, key)
	}
	return path + "[" + strconv.Quote(key) + "]"
}
