package incident

import (
	"slices"
	"strconv"
	"time"

	"github.com/pagerd/pagerd/internal/jsonenc"
)

// AppendJSON appends e as json.Marshal(e) encodes it, byte for byte
// (TestEventJSONMatchesMarshal, FuzzEventJSONMatchesMarshal). The leader
// encodes every ingested event once; by reflection (with the alert's
// MarshalJSON marshalling again and its output compacted) that was about
// half of the command encoding in storm profiles (docs/PERFORMANCE.md,
// "Storm"). ok is false when a time cannot be written as RFC 3339 (a year
// outside 0–9999): the caller then takes json.Marshal, which refuses it
// with its own error.
func (e *Event) AppendJSON(dst []byte) (out []byte, ok bool) {
	dst = append(dst, `{"integration":`...)
	dst = jsonenc.AppendString(dst, e.Integration)
	dst = append(dst, `,"service":`...)
	dst = jsonenc.AppendString(dst, e.Service)
	dst = append(dst, `,"action":`...)
	dst = jsonenc.AppendString(dst, e.Action)
	dst = append(dst, `,"dedup_key":`...)
	dst = jsonenc.AppendString(dst, e.DedupKey)
	dst = append(dst, `,"auto_resolve":`...)
	dst = strconv.AppendBool(dst, e.AutoResolve)
	if e.Policy != "" {
		dst = append(dst, `,"policy":`...)
		dst = jsonenc.AppendString(dst, e.Policy)
	}
	dst = append(dst, `,"alert":`...)
	if dst, ok = e.Alert.appendJSON(dst); !ok {
		return dst, false
	}
	if e.RulesVersion != 0 {
		dst = append(dst, `,"rules_version":`...)
		dst = strconv.AppendInt(dst, int64(e.RulesVersion), 10)
	}
	if len(e.Deferrals) > 0 {
		dst = append(dst, `,"deferrals":`...)
		if dst, ok = appendDeferrals(dst, e.Deferrals); !ok {
			return dst, false
		}
	}
	if len(e.Postmortem) > 0 {
		dst = append(dst, `,"postmortem":`...)
		dst = appendJSONStrings(dst, e.Postmortem)
	}
	if e.FirstStep != nil {
		dst = append(dst, `,"first_step":`...)
		dst = e.FirstStep.appendJSON(dst)
	}
	return append(dst, '}'), true
}

// appendJSON appends a as its MarshalJSON writes it (the embedded fields in
// order, then starts_at and ends_at, absent times as null).
func (a *Alert) appendJSON(dst []byte) ([]byte, bool) {
	dst = append(dst, `{"fingerprint":`...)
	dst = jsonenc.AppendString(dst, a.Fingerprint)
	dst = append(dst, `,"status":`...)
	dst = jsonenc.AppendString(dst, a.Status)
	dst = append(dst, `,"labels":`...)
	dst = appendJSONStringMap(dst, a.Labels)
	dst = append(dst, `,"annotations":`...)
	dst = appendJSONStringMap(dst, a.Annotations)
	dst = append(dst, `,"severity":`...)
	dst = jsonenc.AppendString(dst, a.Severity)
	if a.GeneratorURL != "" {
		dst = append(dst, `,"generator_url":`...)
		dst = jsonenc.AppendString(dst, a.GeneratorURL)
	}
	if a.SilenceURL != "" {
		dst = append(dst, `,"silence_url":`...)
		dst = jsonenc.AppendString(dst, a.SilenceURL)
	}
	var ok bool
	dst = append(dst, `,"starts_at":`...)
	if dst, ok = appendJSONTimeOrNull(dst, a.StartsAt); !ok {
		return dst, false
	}
	dst = append(dst, `,"ends_at":`...)
	if dst, ok = appendJSONTimeOrNull(dst, a.EndsAt); !ok {
		return dst, false
	}
	return append(dst, '}'), true
}

func appendDeferrals(dst []byte, ds []Deferral) ([]byte, bool) {
	dst = append(dst, '[')
	for i, d := range ds {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"severity":`...)
		dst = jsonenc.AppendString(dst, d.Severity)
		dst = append(dst, `,"window":`...)
		dst = jsonenc.AppendString(dst, d.Window)
		dst = append(dst, `,"until":`...)
		var ok bool
		if dst, ok = appendJSONTime(dst, d.Until); !ok {
			return dst, false
		}
		dst = append(dst, '}')
	}
	return append(dst, ']'), true
}

func (f *FirstStep) appendJSON(dst []byte) []byte {
	dst = append(dst, `{"policy":`...)
	dst = jsonenc.AppendString(dst, f.Policy)
	dst = append(dst, `,"config_version":`...)
	dst = jsonenc.AppendString(dst, f.ConfigVersion)
	if f.Exhausted {
		dst = append(dst, `,"exhausted":true`...)
	}
	if f.NextAfter != 0 {
		dst = append(dst, `,"next_after_ns":`...)
		dst = strconv.AppendInt(dst, int64(f.NextAfter), 10)
	}
	if len(f.Pages) > 0 {
		dst = append(dst, `,"pages":[`...)
		for i := range f.Pages {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = f.Pages[i].appendJSON(dst)
		}
		dst = append(dst, ']')
	}
	dst = append(dst, `,"message":`...)
	dst = jsonenc.AppendString(dst, f.Message)
	return append(dst, '}')
}

func (p *PlannedPage) appendJSON(dst []byte) []byte {
	dst = append(dst, '{')
	if p.User != "" {
		dst = append(dst, `"user":`...)
		dst = jsonenc.AppendString(dst, p.User)
		dst = append(dst, ',')
	}
	dst = append(dst, `"channel":`...)
	dst = jsonenc.AppendString(dst, p.Channel)
	dst = append(dst, `,"to":`...)
	dst = jsonenc.AppendString(dst, p.To)
	if p.After != 0 {
		dst = append(dst, `,"after_ns":`...)
		dst = strconv.AppendInt(dst, int64(p.After), 10)
	}
	if p.Error != "" {
		dst = append(dst, `,"error":`...)
		dst = jsonenc.AppendString(dst, p.Error)
	}
	return append(dst, '}')
}

// appendJSONTime writes t as time.Time's MarshalJSON; false where that
// fails (a year outside 0–9999).
func appendJSONTime(dst []byte, t time.Time) ([]byte, bool) {
	dst = append(dst, '"')
	dst, err := t.AppendText(dst)
	if err != nil {
		return dst, false
	}
	return append(dst, '"'), true
}

func appendJSONTimeOrNull(dst []byte, t time.Time) ([]byte, bool) {
	if t.IsZero() {
		return append(dst, "null"...), true
	}
	return appendJSONTime(dst, t)
}

// appendJSONStringMap writes m with its keys sorted, as encoding/json does
// (null for a nil map).
func appendJSONStringMap(dst []byte, m map[string]string) []byte {
	if m == nil {
		return append(dst, "null"...)
	}
	var stack [16]string
	keys := stack[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	dst = append(dst, '{')
	for i, k := range keys {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = jsonenc.AppendString(dst, k)
		dst = append(dst, ':')
		dst = jsonenc.AppendString(dst, m[k])
	}
	return append(dst, '}')
}

func appendJSONStrings(dst []byte, ss []string) []byte {
	dst = append(dst, '[')
	for i, s := range ss {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = jsonenc.AppendString(dst, s)
	}
	return append(dst, ']')
}
