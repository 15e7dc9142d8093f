package router

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

// eventFastCases are bodies the fast reader takes and bodies it must
// leave to the strict decoder (or read as it does).
var eventFastCases = []string{
	`{"routing_key":"k","event_action":"trigger","dedup_key":"storm-1","payload":{"summary":"s","source":"x","severity":"critical"}}`,
	" {\n\"routing_key\" : \"k\" , \"payload\" : { \"summary\" : \"a\\\"b\\u00e9\\n\" , \"custom_details\" : { \"a\" : [1, {\"b\":\"}\"}], \"c\":\"\\\\\" } } }\t",
	`{"routing_key":null,"client":"Alertmanager","client_url":"http://am/#/alerts?receiver=x","event_action":"trigger","payload":{"summary":"é \u00e9","source":"s","severity":"","timestamp":"2026-11-29T20:00:00Z","component":"c","group":"g","class":"k","custom_details":{"firing":"Labels:\n - a"}}}`,
	`{"payload":{"custom_details":[1,2,{"x":null}]}}`,
	`{}`,
	`{"payload":{}}`,
	`{"routing_key":"a\u0001"}`,
	`{"payload":{"summary":"\ud800"}}`,
	"{\"dedup_key\":\"\xff\xc3\"}",
	// Left to the strict decoder (errors or other spellings):
	`{"Routing_Key":"k"}`,
	`{"routing_key":"a","routing_key":"b"}`,
	`{"payload":{"summary":"a","summary":"b"}}`,
	`{"payload":null}`,
	`{"payload":{"custom_details":null}}`,
	`{"payload":{"custom_details":"text"}}`,
	`{"payload":{"custom_details":{"a":}}}`,
	`{"payload":{"custom_details":{"a":1}}`,
	`{"links":[{"href":"x"}],"routing_key":"k"}`,
	`{"images":[]}`,
	`{"routing_key":5}`,
	`{"routing_key":"k"} x`,
	`{"routing_key":"k",}`,
	"{\"routing_key\":\"a\x01\"}",
	`{"routing_key":"\x"}`,
	`{"unknown":1}`,
	`{"payload":{"unknown":1}}`,
	`null`,
	`[]`,
	`{"routing\u005fkey":"k"}`,
}

// The fast reader yields exactly what the strict decoder yields, for
// every body it takes; it takes the common shapes.
func TestDecodeEventFastAgreesWithStrict(t *testing.T) {
	for i, body := range eventFastCases {
		checkEventFast(t, []byte(body))
		if _, ok := decodeEventFast([]byte(body)); ok != (i < 9) {
			t.Errorf("%s: fast reader took it %v, want %v", body, ok, i < 9)
		}
	}
}

func checkEventFast(t *testing.T, body []byte) {
	fast, ok := decodeEventFast(body)
	if !ok {
		return
	}
	strict, err := decodeEventStrict(body)
	if err != nil {
		t.Fatalf("%q: fast reader took what the strict decoder refuses: %v", body, err)
	}
	if !reflect.DeepEqual(fast, strict) {
		t.Fatalf("%q:\nfast   %#v %#v\nstrict %#v %#v", body, fast, fast.Payload, strict, strict.Payload)
	}
}

func FuzzDecodeEventFastAgreesWithStrict(f *testing.F) {
	seedFixtures(f)
	for _, body := range eventFastCases {
		f.Add([]byte(body))
	}
	f.Fuzz(checkEventFast)
}

func BenchmarkDecodeEvent(b *testing.B) {
	body := []byte(`{"routing_key":"` + directKey + `","event_action":"trigger","dedup_key":"storm-000123",` +
		`"payload":{"summary":"storm alert 123","source":"bench","severity":"critical","custom_details":{"run":"bench","n":123}}}`)
	for _, bc := range []struct {
		name   string
		decode func([]byte) (*EventRequest, error)
	}{{"Fast", DecodeEvent}, {"Strict", decodeEventStrict}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, err := bc.decode(body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// isCompactJSON says true exactly when json.Compact would leave the
// value as it is.
func TestIsCompactJSONAgreesWithCompact(t *testing.T) {
	for _, v := range []string{`{"a":1}`, `{"a": 1}`, `{"a":" x\" y "}`, "[1,\n2]", `{"a":"\\"}`, `{"a":"\\", "b":2}`,
		`"x"`, `{"a":[{"b":"}"},{}]}`, "{\"a\":\"\t\"}", `{"k\"":" "} `} {
		var buf bytes.Buffer
		if err := json.Compact(&buf, []byte(v)); err != nil {
			continue // not valid JSON: never asked
		}
		if got, want := isCompactJSON([]byte(v)), buf.String() == v; got != want {
			t.Errorf("%s: isCompactJSON %v, Compact leaves it as it is %v", v, got, want)
		}
	}
}

func FuzzIsCompactJSON(f *testing.F) {
	f.Add([]byte(`{"a": "b\" c"}`))
	f.Fuzz(func(t *testing.T, v []byte) {
		var buf bytes.Buffer
		if json.Compact(&buf, v) != nil {
			return
		}
		if got, want := isCompactJSON(v), bytes.Equal(buf.Bytes(), v); got != want {
			t.Fatalf("%q: isCompactJSON %v, Compact leaves it as it is %v", v, got, want)
		}
	})
}
