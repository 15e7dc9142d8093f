package incident

import (
	"encoding/json"
	"time"
)

// MarshalJSON writes an alert with absent times (a firing alert's ends_at,
// an event without a timestamp) as null, as docs/api.md says, instead of
// encoding/json's 0001-01-01T00:00:00Z. Decoding needs no counterpart:
// time.Time reads null as the zero time. Every other field is written as
// its tag says (plain has Alert's fields without this method).
func (a Alert) MarshalJSON() ([]byte, error) {
	type plain Alert
	return json.Marshal(struct {
		plain
		StartsAt *time.Time `json:"starts_at"`
		EndsAt   *time.Time `json:"ends_at"`
	}{plain(a), timeOrNull(a.StartsAt), timeOrNull(a.EndsAt)})
}

func timeOrNull(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
