package incident

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"testing"
	"time"
)

func deliveryJSONCases() map[string]*Delivery {
	at := time.Date(2026, 11, 29, 18, 20, 0, 123000000, time.FixedZone("x", 5400))
	later := at.Add(time.Minute).UTC()
	return map[string]*Delivery{
		"nil items":   {},
		"empty items": {Items: []DeliveryItem{}},
		"storm": {Items: []DeliveryItem{
			{Incident: 42, Notification: "n42-1-0", Attempt: 1, Outcome: OutcomeHeld, HeldUntil: &later},
			{Incident: 43, Notification: "n43-1-0", Attempt: 1, Outcome: OutcomeSent, ProviderID: "<m1@pagerd>", Summary: "s-n40-1-0"},
		}},
		"every field": {Items: []DeliveryItem{{Incident: 1<<64 - 1, Notification: "a\"<\u2028\xff", Attempt: -2, Outcome: "retry",
			RetryAt: &at, HeldUntil: &later, Error: "dial tcp: \x01 refused", ProviderID: "p", Summary: "s"}, {}}},
	}
}

// TestDeliveryJSONMatchesMarshal: the leader's hand-written encoding of a
// delivery is json.Marshal's, byte for byte.
func TestDeliveryJSONMatchesMarshal(t *testing.T) {
	for name, d := range deliveryJSONCases() {
		want, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := d.AppendJSON(nil)
		if !ok || !bytes.Equal(got, want) {
			t.Errorf("%s (ok %v):\n got %s\nwant %s", name, ok, got, want)
		}
	}
	late := time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
	if _, ok := (&Delivery{Items: []DeliveryItem{{RetryAt: &late}}}).AppendJSON(nil); ok {
		t.Error("AppendJSON wrote a time json.Marshal refuses")
	}
}

func strictDelivery(data []byte) (*Delivery, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var d Delivery
	if err := dec.Decode(&d); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err == nil {
		return nil, errors.New("data after the value")
	} else if !errors.Is(err, io.EOF) {
		return nil, err
	}
	return &d, nil
}

// TestParseDeliveryJSONReadsWhatAppendJSONWrites: the fast path reads the
// leader's deliveries to exactly what the strict decoder reads, and leaves
// other forms to it.
func TestParseDeliveryJSONReadsWhatAppendJSONWrites(t *testing.T) {
	for name, d := range deliveryJSONCases() {
		data, _ := d.AppendJSON(nil)
		got, ok := ParseDeliveryJSON(data)
		if name == "nil items" {
			if ok {
				t.Errorf("%s: fast path took null items (the strict decoder's)", name)
			}
			continue
		}
		want, err := strictDelivery(data)
		if err != nil {
			t.Fatal(err)
		}
		if !ok || !reflect.DeepEqual(got, want) {
			t.Errorf("%s (ok %v):\n got %#v\nwant %#v", name, ok, got, want)
		}
	}
	for _, in := range []string{`{"items":[]} `, `{"items":[{"incident":-1,"notification":"","attempt":0,"outcome":""}]}`,
		`{"items":[{"incident":1,"notification":"","attempt":0,"outcome":"","retry_at":null}]}`, `{"items":[],"x":1}`} {
		if _, ok := ParseDeliveryJSON([]byte(in)); ok {
			t.Errorf("fast path took %s", in)
		}
	}
}

func FuzzDeliveryJSONMatchesMarshal(f *testing.F) {
	f.Add(uint64(42), "n42-1-0", 1, "held", int64(1796000000123456789), "", "<m@x>", "s-1")
	f.Fuzz(func(t *testing.T, id uint64, nid string, attempt int, outcome string, at int64, errText, provider, summary string) {
		tm := time.Unix(0, at)
		d := &Delivery{Items: []DeliveryItem{{Incident: id, Notification: nid, Attempt: attempt, Outcome: outcome,
			RetryAt: &tm, Error: errText, ProviderID: provider, Summary: summary}, {Incident: id, HeldUntil: &tm}}}
		want, err := json.Marshal(d)
		got, ok := d.AppendJSON(nil)
		if (err == nil) != ok || (ok && !bytes.Equal(got, want)) {
			t.Fatalf("ok %v err %v\n got %s\nwant %s", ok, err, got, want)
		}
	})
}

func FuzzParseDeliveryJSONAgreesWithStrict(f *testing.F) {
	for _, d := range deliveryJSONCases() {
		data, _ := d.AppendJSON(nil)
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, ok := ParseDeliveryJSON(data)
		if !ok {
			return
		}
		want, err := strictDelivery(data)
		if err != nil {
			t.Fatalf("fast path accepted what the strict decoder refuses (%v): %q", err, data)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%q:\n fast   %#v\n strict %#v", data, got, want)
		}
	})
}

func BenchmarkParseDeliveryJSON(b *testing.B) {
	data, _ := deliveryJSONCases()["storm"].AppendJSON(nil)
	b.Run("Fast", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, ok := ParseDeliveryJSON(data); !ok {
				b.Fatal("refused")
			}
		}
	})
	b.Run("Strict", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := strictDelivery(data); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// The timeline lines of a page sent and held are replicated state: the
// hand-built forms must read exactly as the fmt forms they replaced.
func TestDeliveryMessagesAsBefore(t *testing.T) {
	held := time.Date(2026, 11, 29, 12, 0, 1, 500, time.FixedZone("x", 3600))
	until := held.Add(time.Minute)
	for _, n := range []Notification{
		{User: "bob", Channel: ChannelEmail},
		{User: "bob", Channel: ChannelSMS, HeldAt: &held},
		{Channel: ChannelWebhook, To: "chat"},
		{Channel: ChannelWebhook, To: "chat", HeldAt: &held},
		{User: "ünï", Channel: ChannelEmail, HeldAt: &held},
	} {
		for _, summary := range []string{"", "s-n1-1-0"} {
			want := fmt.Sprintf("paged %s by %s", orWebhook(&n), n.Channel)
			if summary != "" {
				want += " in flood-control summary " + summary
			}
			if n.HeldAt != nil {
				want += ", released from the flood-control hold of " + n.HeldAt.UTC().Format(time.RFC3339)
			}
			if got := sentMessage(&n, summary); got != want {
				t.Errorf("sent: %q, want %q", got, want)
			}
		}
		for _, u := range []*time.Time{nil, &until} {
			want := fmt.Sprintf("page to %s by %s held by flood control: %s has had the most messages a window allows", n.User, n.Channel, n.User)
			if u != nil {
				want += "; it goes out in a summary at about " + u.UTC().Format(time.RFC3339)
			}
			if got := holdMessage(&n, u); got != want {
				t.Errorf("held: %q, want %q", got, want)
			}
		}
	}
}
