package config

import (
	"fmt"
	"strings"
	"time"
)

// legacyParseDuration is the duration reader of the release before issue
// 11's (commit 8114ae1): Go durations extended with `d` and `w`, parts in
// any order ("1h1d", "1d1d"). ParseReplicated falls back to it so a config
// that release committed still applies; new configs use ParseDuration.
func legacyParseDuration(s string) (Duration, error) {
	orig := s
	if s == "" {
		return 0, fmt.Errorf("empty duration")
	}
	neg := false
	if s[0] == '-' || s[0] == '+' {
		neg = s[0] == '-'
		s = s[1:]
	}
	var total time.Duration
	for s != "" {
		num, unit, rest := splitDurationPart(s)
		if num == "" || unit == "" {
			return 0, fmt.Errorf("invalid duration %q (use e.g. 90s, 10m, 1d, 1w)", orig)
		}
		part, err := legacyDurationPart(orig, num, unit)
		if err != nil {
			return 0, err
		}
		// Guard the sum: each part fits, but together they may overflow.
		if total > time.Duration(1<<63-1)-part {
			return 0, fmt.Errorf("invalid duration %q: too long", orig)
		}
		total += part
		s = rest
	}
	if neg {
		total = -total
	}
	return Duration(total), nil
}

// splitDurationPart cuts "12h30m" into "12", "h" and "30m".
func splitDurationPart(s string) (num, unit, rest string) {
	isNum := func(c byte) bool { return c >= '0' && c <= '9' || c == '.' }
	i := 0
	for i < len(s) && isNum(s[i]) {
		i++
	}
	j := i
	for j < len(s) && !isNum(s[j]) {
		j++
	}
	return s[:i], s[i:j], s[j:]
}

func legacyDurationPart(orig, num, unit string) (time.Duration, error) {
	if unit != "d" && unit != "w" {
		p, err := time.ParseDuration(num + unit)
		if err != nil {
			return 0, fmt.Errorf("invalid duration %q (use e.g. 90s, 10m, 1d, 1w)", orig)
		}
		return p, nil
	}
	if strings.Contains(num, ".") {
		return 0, fmt.Errorf("invalid duration %q: fractional %s not allowed", orig, unit)
	}
	var n int64
	if _, err := fmt.Sscan(num, &n); err != nil || n > 100000 {
		return 0, fmt.Errorf("invalid duration %q", orig)
	}
	if unit == "w" {
		n *= 7
	}
	if n > 100000 {
		return 0, fmt.Errorf("invalid duration %q: too long", orig)
	}
	return time.Duration(n) * 24 * time.Hour, nil
}
