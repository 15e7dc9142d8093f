package incident

import (
	"fmt"
	"io"
	"testing"
)

// benchState holds n incidents shaped like the scale bench's Events v2
// triggers (one alert with labels and annotations, two timeline entries).
func benchState(n int) *State {
	s := NewState()
	for i := range n {
		e := event(ActionTrigger, fmt.Sprintf("bench-%d", i), "sev2")
		e.Alert.Labels = map[string]string{"source": "db-1", "component": "disk", "group": "storage", "class": "capacity"}
		e.Alert.Annotations = map[string]string{"summary": fmt.Sprintf("disk full %d", i), "details": `{"free":"0"}`}
		s.ApplyEvent(at(i%1000), e)
	}
	return s
}

// BenchmarkSnapshotEncode reports what writing a snapshot allocates per
// incident: it is garbage on the node that writes it, and with Go's heap
// goal at twice the live heap it becomes resident memory.
func BenchmarkSnapshotEncode(b *testing.B) {
	s := benchState(10_000)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if err := s.Freeze().Encode(io.Discard); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/10_000, "ns/incident")
}
