package reply

import "testing"

func TestParseFollowupLine(t *testing.T) {
	for _, c := range []struct{ in, status, note, id string }{
		{"done", "done", "done", ""},
		{"Done.", "done", "Done.", ""},
		{"done INC-42-F2", "done", "done INC-42-F2", "INC-42-F2"},
		{"wont do replaced by the new dashboard", "wont_do", "replaced by the new dashboard", ""},
		{"won't do no longer needed", "wont_do", "no longer needed", ""},
		{"wontdo", "wont_do", "", ""},
	} {
		st, note, id, ok := ParseFollowupLine(c.in)
		if !ok || st != c.status || note != c.note || id != c.id {
			t.Errorf("%q: got %q %q %q %v", c.in, st, note, id, ok)
		}
	}
	for _, in := range []string{"", "not done yet", "wont", "I am done"} {
		if _, _, _, ok := ParseFollowupLine(in); ok {
			t.Errorf("%q parsed as a command", in)
		}
	}
}

func FuzzParseFollowupLine(f *testing.F) {
	f.Add("done INC-1-F1")
	f.Add("won't do because")
	f.Fuzz(func(t *testing.T, s string) {
		st, _, _, ok := ParseFollowupLine(s)
		if ok && st != "done" && st != "wont_do" {
			t.Fatalf("status %q", st)
		}
	})
}
