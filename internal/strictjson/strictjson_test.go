package strictjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

type inner struct {
	A string            `json:"a"`
	M map[string]string `json:"m"`
}

type value struct {
	N int             `json:"n"`
	S string          `json:"s"`
	I *inner          `json:"i"`
	L []inner         `json:"l"`
	R json.RawMessage `json:"r"`
}

// reference is the strict decode pagerd used everywhere before.
func reference(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("data after the value")
	}
	return nil
}

// agree checks Decode against the reference on data, also right after a
// value that left whitespace behind in a pooled decoder.
func agree(t *testing.T, data []byte) {
	t.Helper()
	var got, want value
	ok := Decode(data, &got)
	err := reference(data, &want)
	if len(data) > maxPooled {
		if ok {
			t.Fatalf("%d bytes, over maxPooled: decoded through the pool", len(data))
		}
		return // the caller decodes it the reference way
	}
	if ok != (err == nil) {
		t.Fatalf("%.200q: pooled %v, reference %v", data, ok, err)
	}
	if ok && !reflect.DeepEqual(got, want) {
		t.Fatalf("%.200q: pooled %+v, reference %+v", data, got, want)
	}
}

func TestDecodeAgreesWithAFreshDecoder(t *testing.T) {
	for _, s := range []string{
		`{"n":1,"s":"x","i":{"a":"b","m":{"k":"v"}},"l":[{"a":"c"}],"r":{"any":[1,2]}}`,
		`{"n":1}   `, "{\"n\":1}\n\t\r ", `  {"n":2}`, `{"n":1} {"n":2}`, `{"n":1} x`, `{"n":1}]`,
		`{"n":1,"x":2}`, `{"i":{"a":"b","x":1}}`, `{"l":[{"zz":1}]}`, `{"N":3}`, `{"n":"1"}`,
		``, ` `, `null`, `{}`, `[]`, `{"n":1`, `{"s":"` + strings.Repeat("é", 600) + `"}`,
		`{"s":"` + strings.Repeat("x", maxPooled) + `"}`, `{"n":1}` + strings.Repeat(" ", 2000) + `x`,
	} {
		agree(t, []byte(s))
		agree(t, []byte(s)) // again, through a decoder the pool may hand back
	}
}

// FuzzDecode: the pooled decoder accepts exactly what a fresh one does,
// with the same result, whatever came through the pool before.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"n":1,"i":{"a":"b"}}`), []byte(`{"n":2}  `))
	f.Add([]byte(`{"n":1}  `), []byte(`{"n":1,"q":1}`))
	f.Fuzz(func(t *testing.T, first, second []byte) {
		agree(t, first)
		agree(t, second)
	})
}

func BenchmarkDecode(b *testing.B) {
	data := []byte(`{"n":1,"s":"storm-12345","i":{"a":"b","m":{"source":"bench","summary":"disk full"}}}`)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		var v value
		if !Decode(data, &v) {
			b.Fatal("refused")
		}
	}
}

func BenchmarkFreshDecoder(b *testing.B) {
	data := []byte(`{"n":1,"s":"storm-12345","i":{"a":"b","m":{"source":"bench","summary":"disk full"}}}`)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		var v value
		if reference(data, &v) != nil {
			b.Fatal("refused")
		}
	}
}

// Concurrent decodes share the pool without mixing values (run with -race).
func TestDecodeConcurrently(t *testing.T) {
	done := make(chan error, 8)
	for g := 0; g < 8; g++ {
		go func() {
			for i := 0; i < 500; i++ {
				data := []byte(`{"n":` + strconv.Itoa(g*1000+i) + `,"s":"x"}  `)
				var v value
				if !Decode(data, &v) || v.N != g*1000+i {
					done <- fmt.Errorf("goroutine %d value %d: got %+v", g, i, v)
					return
				}
			}
			done <- nil
		}()
	}
	for g := 0; g < 8; g++ {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}
