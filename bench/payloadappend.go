package bench

import (
	"strconv"
	"time"

	"github.com/pagerd/pagerd/internal/jsonenc"
)

// Append-style encoders of the bench's request bodies: each writes into a
// reused buffer exactly the bytes its allocating counterpart in payload.go
// produces (TestAppendEncodersMatch, FuzzAppendEncodersMatch), so that a
// closed-loop worker builds a body per request without allocating and
// without changing what the servers are sent.

// AppendEventTrigger appends EventTrigger(routingKey, run+"-"+seq, source).
func AppendEventTrigger(dst []byte, routingKey, run string, seq int64, source string) []byte {
	dst = append(dst, `{"routing_key":`...)
	dst = jsonenc.AppendString(dst, routingKey)
	dst = append(dst, `,"event_action":"trigger","dedup_key":"`...)
	dst = appendSeqKey(dst, run, seq)
	dst = append(dst, `","payload":{"summary":"bench alert `...)
	dst = appendSeqKey(dst, run, seq)
	dst = append(dst, `","source":`...)
	dst = jsonenc.AppendString(dst, source)
	return append(dst, `,"severity":"critical","component":"bench","custom_details":{"run":"bench"}}}`...)
}

// AppendPostableAlerts appends PostableAlerts(Alerts(run, g, n, service, at)).
func AppendPostableAlerts(dst []byte, run string, g int64, n int, service string, at time.Time) []byte {
	dst = append(dst, '[')
	for i := 0; i < n; i++ {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"labels":`...)
		dst = appendAlertLabels(dst, run, g, i, service)
		dst = append(dst, `,"annotations":`...)
		dst = appendAlertAnnotations(dst, run, g, i)
		dst = append(dst, `,"startsAt":`...)
		dst = appendJSONTime(dst, at)
		dst = append(dst, `,"generatorURL":"http://bench/graph"}`...)
	}
	return append(dst, ']')
}

// AppendWebhook appends Webhook(Alerts(run, g, n, service, at)); n >= 1.
func AppendWebhook(dst []byte, run string, g int64, n int, service string, at time.Time) []byte {
	dst = append(dst, `{"alerts":[`...)
	for i := 0; i < n; i++ {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"status":"firing","labels":`...)
		dst = appendAlertLabels(dst, run, g, i, service)
		dst = append(dst, `,"annotations":`...)
		dst = appendAlertAnnotations(dst, run, g, i)
		dst = append(dst, `,"startsAt":`...)
		dst = appendJSONTime(dst, at)
		dst = append(dst, `,"endsAt":"0001-01-01T00:00:00Z","generatorURL":"http://bench/graph"}`...)
	}
	dst = append(dst, `],"commonAnnotations":{},"commonLabels":{"alertname":"BenchAlert","group":"`...)
	dst = appendSeqKey(dst, run, g)
	dst = append(dst, `","service":`...)
	dst = jsonenc.AppendString(dst, service)
	dst = append(dst, `},"externalURL":"http://bench","groupKey":"{}:{group=\"`...)
	dst = appendSeqKey(dst, run, g)
	dst = append(dst, `\"}","groupLabels":{"group":"`...)
	dst = appendSeqKey(dst, run, g)
	return append(dst, `"},"receiver":"pagerd","status":"firing","truncatedAlerts":0,"version":"4"}`...)
}

// appendAlertLabels writes Alerts' labels in encoding/json's sorted key
// order: alertname, group, instance, service, severity.
func appendAlertLabels(dst []byte, run string, g int64, i int, service string) []byte {
	dst = append(dst, `{"alertname":"BenchAlert","group":"`...)
	dst = appendSeqKey(dst, run, g)
	dst = append(dst, `","instance":"`...)
	dst = appendInstance(dst, run, g, i)
	dst = append(dst, `","service":`...)
	dst = jsonenc.AppendString(dst, service)
	return append(dst, `,"severity":"critical"}`...)
}

func appendAlertAnnotations(dst []byte, run string, g int64, i int) []byte {
	dst = append(dst, `{"summary":"bench alert on `...)
	dst = appendInstance(dst, run, g, i)
	return append(dst, `"}`...)
}

// appendSeqKey writes the inside of the JSON string run+"-"+seq. The
// separator and digits need no escaping, and being ASCII they cannot join
// the end of run into a different rune, so escaping the parts apart equals
// escaping the whole.
func appendSeqKey(dst []byte, run string, seq int64) []byte {
	dst = jsonenc.AppendStringBody(dst, run)
	dst = append(dst, '-')
	return strconv.AppendInt(dst, seq, 10)
}

// appendInstance writes the inside of the JSON string run-g-i.
func appendInstance(dst []byte, run string, g int64, i int) []byte {
	dst = appendSeqKey(dst, run, g)
	dst = append(dst, '-')
	return strconv.AppendInt(dst, int64(i), 10)
}

// appendJSONTime writes t as time.Time.MarshalJSON does for t.UTC() (the
// encoders above marshal StartsAt.UTC()); years outside 0–9999, which
// MarshalJSON refuses, do not occur in the bench.
func appendJSONTime(dst []byte, t time.Time) []byte {
	dst = append(dst, '"')
	dst = t.UTC().AppendFormat(dst, time.RFC3339Nano)
	return append(dst, '"')
}
