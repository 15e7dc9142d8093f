package main

import (
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/pagerd/pagerd/config"
)

// A plan compares config objects field by field, generically: each object is
// flattened to its config field paths ("pass.ack_within",
// "components[api].services") and the text of each scalar, so one comparison
// serves every kind and a changed object names the fields that change, old →
// new. Only what a config can say is compared: exported fields as YAML names
// them. Compiled state (yaml:"-", unexported zones, templates, cron
// schedules) is derived from those, and secret fields (tagged secret:"…") are
// never read at all — diffSecrets compares those by digest, so no secret can
// reach a plan's text.

// elementMark is the value of a list element's own path ("components[api]"),
// so an element added or removed is named once rather than field by field.
const elementMark = "\x00element"

// longValue is the length past which a changed text is not quoted (an update
// template's): "internal changed" says enough. Such a text is stored behind
// longMark, so lists (participants) are always shown in full.
const (
	longValue = 60
	longMark  = "\x00long:"
)

var (
	durationType = reflect.TypeOf(config.Duration(0))
	timeType     = reflect.TypeOf(time.Time{})
)

// flatten maps every config field path of v to its text.
func flatten(v any) map[string]string {
	out := map[string]string{}
	flattenValue(out, "", reflect.ValueOf(v))
	return out
}

func flattenValue(out map[string]string, path string, v reflect.Value) {
	if !v.IsValid() {
		return
	}
	switch {
	case v.Type() == durationType:
		out[path] = config.Duration(v.Int()).Short()
		return
	case v.Type() == timeType:
		out[path] = v.Interface().(time.Time).UTC().Format(time.RFC3339)
		return
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			flattenValue(out, path, v.Elem())
		}
	case reflect.Struct:
		flattenStruct(out, path, v)
	case reflect.Slice, reflect.Array:
		flattenList(out, path, v)
	case reflect.Map:
		flattenMap(out, path, v)
	case reflect.String:
		out[path] = v.String()
		if len(v.String()) > longValue || strings.Contains(v.String(), "\n") {
			out[path] = longMark + v.String()
		}
	default:
		out[path] = scalarText(v)
	}
}

func flattenStruct(out map[string]string, path string, v reflect.Value) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name := fieldName(f)
		if name == "" {
			continue
		}
		flattenValue(out, joinPath(path, name), v.Field(i))
	}
}

// fieldName is a field's config name, or "" for a field a plan must not read:
// unexported, compiled (yaml:"-") or secret.
func fieldName(f reflect.StructField) string {
	if !f.IsExported() || f.Tag.Get("secret") != "" {
		return ""
	}
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	switch name {
	case "-":
		return ""
	case "":
		return strings.ToLower(f.Name)
	}
	return name
}

// flattenList writes a list of scalars as one value ("[a, b]"), since its
// order matters as a whole (participants), and a list of objects element by
// element, keyed by id where elements have one.
func flattenList(out map[string]string, path string, v reflect.Value) {
	elem := v.Type().Elem()
	for elem.Kind() == reflect.Pointer {
		elem = elem.Elem()
	}
	if elem.Kind() != reflect.Struct || elem == timeType {
		items := make([]string, v.Len())
		for i := range items {
			items[i] = scalarText(reflect.Indirect(v.Index(i)))
		}
		out[path] = "[" + strings.Join(items, ", ") + "]"
		return
	}
	used := map[string]bool{}
	for i := 0; i < v.Len(); i++ {
		ep := fmt.Sprintf("%s[%s]", path, elementKey(reflect.Indirect(v.Index(i)), i, used))
		out[ep] = elementMark
		flattenValue(out, ep, v.Index(i))
	}
}

// elementKey is a list element's id (or name), else its index; used keeps
// two elements of one id (not valid, but not the plan's to judge) apart.
func elementKey(v reflect.Value, i int, used map[string]bool) string {
	k := elementID(v, i)
	if used[k] {
		k = strconv.Itoa(i)
	}
	used[k] = true
	return k
}

func elementID(v reflect.Value, i int) string {
	if v.Kind() == reflect.Struct {
		for _, f := range []string{"ID", "Name"} {
			if k := v.FieldByName(f); k.IsValid() && k.Kind() == reflect.String && k.String() != "" {
				return k.String()
			}
		}
	}
	return strconv.Itoa(i)
}

func flattenMap(out map[string]string, path string, v reflect.Value) {
	for _, k := range v.MapKeys() {
		flattenValue(out, joinPath(path, fmt.Sprint(k.Interface())), v.MapIndex(k))
	}
}

func scalarText(v reflect.Value) string {
	if !v.IsValid() {
		return ""
	}
	if v.Type() == durationType {
		return config.Duration(v.Int()).Short()
	}
	return fmt.Sprint(v.Interface())
}

func joinPath(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// fieldChanges lists what differs between two flattened objects, by path:
// "name Alice → Alicia", "components[db] added", "public changed". An empty
// list means the objects are the same as far as a config can say.
func fieldChanges(o, n map[string]string) []string {
	paths := map[string]bool{}
	for p := range o {
		paths[p] = true
	}
	for p := range n {
		paths[p] = true
	}
	sorted := make([]string, 0, len(paths))
	for p := range paths {
		sorted = append(sorted, p)
	}
	sort.Strings(sorted)
	var out []string
	var gone string // an element added or removed: its fields go unsaid
	for _, p := range sorted {
		if gone != "" && strings.HasPrefix(p, gone+".") {
			continue
		}
		ov, inOld := o[p]
		nv, inNew := n[p]
		switch {
		case inOld && inNew && ov == nv:
		case ov == elementMark && !inNew, nv == elementMark && !inOld:
			gone = p
			out = append(out, p+" "+map[bool]string{true: "added", false: "removed"}[inNew])
		default:
			out = append(out, valueChange(p, shown(ov, inOld), shown(nv, inNew)))
		}
	}
	return out
}

// shown is a value as a plan prints it: "" and absent are "(unset)".
func shown(v string, present bool) string {
	if !present || v == "" || v == elementMark {
		return "(unset)"
	}
	return v
}

func valueChange(path, from, to string) string {
	if strings.HasPrefix(from, longMark) || strings.HasPrefix(to, longMark) {
		return strings.TrimSpace(path + " changed")
	}
	return strings.TrimSpace(path + " " + from + " → " + to)
}
