package router

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strconv"
	"strings"
)

// InputError is a client mistake in an ingest body: the handler answers 400
// with its text. Field names the offending JSON path (`alerts[1].labels`,
// `payload.severity`, or `json` for syntax errors) so the sender can fix it
// without reading our source.
type InputError struct {
	Field string
	Msg   string
}

func (e *InputError) Error() string {
	if e.Field == "" {
		return e.Msg
	}
	return e.Field + ": " + e.Msg
}

func inputErr(field, msg string) *InputError { return &InputError{Field: field, Msg: msg} }

// jsonError turns an encoding/json error into an InputError naming where it
// happened. prefix is prepended to field paths of type errors (used when a
// nested object is decoded on its own, e.g. "payload.").
func jsonError(body []byte, err error, prefix string) *InputError {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var ie *InputError
	switch {
	case errors.As(err, &ie):
		return ie
	case errors.As(err, &syn):
		msg := syn.Error()
		if strings.Contains(msg, "unexpected end") {
			msg = "unexpected end of input"
		}
		return inputErr("json", "line "+strconv.Itoa(lineAt(body, syn.Offset))+": "+msg)
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return inputErr("json", "line "+strconv.Itoa(lineAt(body, int64(len(body))))+": unexpected end of input")
	case errors.As(err, &typ):
		return typeError(typ, prefix)
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		if unq, uerr := strconv.Unquote(name); uerr == nil {
			name = unq
		}
		return inputErr(prefix+name, "unknown field")
	}
	return inputErr("json", err.Error())
}

// typeError names the field whose JSON type is wrong, as the JSON path the
// sender wrote (encoding/json reports "alerts.labels").
func typeError(e *json.UnmarshalTypeError, prefix string) *InputError {
	field := e.Field
	field = prefix + field
	field = strings.TrimSuffix(field, ".")
	if field == "" {
		field = "body"
	}
	return inputErr(field, "must be "+jsonKind(e.Type)+", got "+e.Value)
}

// jsonKind names a Go type the way a JSON author thinks of it.
func jsonKind(t reflect.Type) string {
	if t == nil {
		return "a different type"
	}
	switch t.Kind() {
	case reflect.Map, reflect.Struct, reflect.Pointer:
		return "an object"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a non-negative integer"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	}
	return "a " + t.String()
}

// lineAt is the 1-based line of the last non-blank byte before offset, so an
// input that ends early is blamed on its last line rather than on a trailing
// newline.
func lineAt(body []byte, offset int64) int {
	end := int(min(max(offset, 0), int64(len(body))))
	for end > 0 && isSpace(body[end-1]) {
		end--
	}
	if end > 0 {
		end-- // the offending byte itself, not the one after it
	}
	return 1 + bytes.Count(body[:end], []byte{'\n'})
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
