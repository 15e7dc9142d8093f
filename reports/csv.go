package reports

import (
	"encoding/csv"
	"fmt"
	"io"
	"sort"
	"strconv"
)

// baseChannels always have a pages column, so the CSV's columns do not
// depend on which channels happened to page in the window.
var baseChannels = []string{"sms", "email", "webhook"}

// WriteCSV writes the report as CSV: a header, one row per group, then the
// total row (group "total"). Seconds are plain decimals.
func WriteCSV(w io.Writer, rep Response) error {
	channels := pageChannels(rep)
	header := []string{rep.GroupBy, "count", "tta_n", "tta_p50", "tta_p90", "tta_mean",
		"ttr_n", "ttr_p50", "ttr_p90", "ttr_mean", "escalated", "deferred"}
	for _, ch := range channels {
		header = append(header, "pages_"+ch)
	}
	cw := csv.NewWriter(w)
	if err := cw.Write(header); err != nil {
		return fmt.Errorf("write report csv: %w", err)
	}
	for _, g := range append(append([]Group(nil), rep.Groups...), rep.Total) {
		row := []string{g.Group, strconv.Itoa(g.Count)}
		row = append(row, statsCells(g.TTA)...)
		row = append(row, statsCells(g.TTR)...)
		row = append(row, strconv.Itoa(g.Escalated), strconv.Itoa(g.Deferred))
		for _, ch := range channels {
			row = append(row, strconv.Itoa(g.Pages[ch]))
		}
		if err := cw.Write(row); err != nil {
			return fmt.Errorf("write report csv: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write report csv: %w", err)
	}
	return nil
}

func statsCells(s Stats) []string {
	f := func(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }
	return []string{strconv.Itoa(s.N), f(s.P50), f(s.P90), f(s.Mean)}
}

func pageChannels(rep Response) []string {
	seen := map[string]bool{}
	out := append([]string(nil), baseChannels...)
	for _, ch := range out {
		seen[ch] = true
	}
	var extra []string
	for _, ch := range keys(rep.Total.Pages) {
		if !seen[ch] {
			extra = append(extra, ch)
		}
	}
	sort.Strings(extra)
	return append(out, extra...)
}

func keys(m map[string]int) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
