package main

import (
	"fmt"
	"sort"
	"strings"
)

// memberCommands shows the newest command versions a member applies: the
// types past version 1 by name, so the column stays short. A member that
// announced none runs a release from before the version gate.
func memberCommands(cmds map[string]uint8) string {
	if len(cmds) == 0 {
		return "(before the version gate: all at 1)"
	}
	return commandVersionsLine(cmds)
}

// commandVersionsLine is "alert_group=2 event=2, others 1"; types at
// version 0 (the leader writes none: a member does not apply them yet) are
// added as "; held back: restore_chunk, …".
func commandVersionsLine(cmds map[string]uint8) string {
	var newer, held []string
	for name, v := range cmds {
		switch {
		case v == 0:
			held = append(held, name)
		case v > 1:
			newer = append(newer, fmt.Sprintf("%s=%d", name, v))
		}
	}
	sort.Strings(newer)
	sort.Strings(held)
	line := "all at 1"
	if len(newer) > 0 {
		line = strings.Join(newer, " ") + ", others 1"
	}
	if len(held) > 0 {
		line += "; held back: " + strings.Join(held, ", ")
	}
	return line
}

func orText(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
