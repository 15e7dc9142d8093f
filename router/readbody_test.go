package router

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestReadAllSizedReadsWhatIsSentWhateverWasAnnounced(t *testing.T) {
	body := strings.Repeat("x", 1000)
	for _, size := range []int64{-1, 0, 10, 999, 1000, 1001, 5000} {
		got, err := readAllSized(strings.NewReader(body), size)
		if err != nil || string(got) != body {
			t.Errorf("announced %d: %d bytes, %v; want all 1000", size, len(got), err)
		}
	}
	// The body limit still holds when the body is longer than announced.
	rd := http.MaxBytesReader(httptest.NewRecorder(), nopCloser{strings.NewReader(body)}, 500)
	var mbe *http.MaxBytesError
	if _, err := readAllSized(rd, 100); !errors.As(err, &mbe) {
		t.Errorf("over the limit: err %v, want *http.MaxBytesError", err)
	}
}

type nopCloser struct{ *strings.Reader }

func (nopCloser) Close() error { return nil }
