package main

import "testing"

func TestCommandVersionsLine(t *testing.T) {
	for _, c := range []struct {
		in   map[string]uint8
		want string
	}{
		{map[string]uint8{"event": 1, "action": 1}, "all at 1"},
		{map[string]uint8{"event": 2, "alert_group": 2, "action": 1}, "alert_group=2 event=2, others 1"},
		{map[string]uint8{"event": 1, "restore_chunk": 0, "restore_abort": 0}, "all at 1; held back: restore_abort, restore_chunk"},
	} {
		if got := commandVersionsLine(c.in); got != c.want {
			t.Errorf("commandVersionsLine(%v) = %q, want %q", c.in, got, c.want)
		}
	}
	if got := memberCommands(nil); got != "(before the version gate: all at 1)" {
		t.Errorf("memberCommands(nil) = %q", got)
	}
}
