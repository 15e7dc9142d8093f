// Package strictjson decodes one JSON value strictly — unknown object
// fields refused, nothing but whitespace after the value — as a fresh
// json.Decoder with DisallowUnknownFields followed by a check for io.EOF
// does, without allocating that decoder and its buffer per value.
//
// Why: pagerd decodes every replicated command body strictly on every
// node, and every ingest body on the node that takes it; a fresh
// json.Decoder per value (its struct, a 512-byte buffer the body is copied
// into, a bytes.Reader) was about half of those decodes' allocations.
//
// Decode only reports success. On false the caller runs its own strict
// decode, which refuses the value with the error it always gave (a pooled
// decoder's syntax error offsets would count from an earlier value).
package strictjson

import (
	"encoding/json"
	"io"
	"sync"
)

// maxPooled is the largest value decoded through the pool: a decoder's
// buffer grows to the largest value it read and stays that large.
const maxPooled = 64 << 10

// stream feeds a pooled decoder one value after the other.
type stream struct {
	b    []byte
	read int64 // bytes handed to the decoder, over all values
}

func (s *stream) Read(p []byte) (int, error) {
	if len(s.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p, s.b)
	s.b = s.b[n:]
	s.read += int64(n)
	return n, nil
}

type decoder struct {
	in  stream
	dec *json.Decoder
}

var pool = sync.Pool{New: func() any {
	d := &decoder{}
	d.dec = json.NewDecoder(&d.in)
	d.dec.DisallowUnknownFields()
	return d
}}

// Decode decodes data into v and reports whether it succeeded; on false v
// may be partly filled and the caller decodes again to get the error.
func Decode(data []byte, v any) bool {
	if len(data) > maxPooled {
		return false
	}
	d := pool.Get().(*decoder)
	d.in.b = data
	// A decoder that failed is dropped, not pooled: json.Decoder keeps a
	// read error, and a refused value may have left the stream mid-value.
	if d.dec.Decode(v) != nil {
		return false
	}
	// What the decoder read past the value, and what it did not read yet,
	// is the rest of data: it must be whitespace. (Whitespace left in the
	// decoder's buffer is skipped before the next value.)
	buffered := d.in.read - d.dec.InputOffset()
	rest := data[len(data)-len(d.in.b)-int(buffered):]
	if !isSpace(rest) {
		return false
	}
	d.in.b = nil
	pool.Put(d)
	return true
}

// isSpace reports whether b is JSON whitespace only.
func isSpace(b []byte) bool {
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			return false
		}
	}
	return true
}
