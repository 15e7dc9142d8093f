package web

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/pagerd/pagerd/reports"
)

// chart is a server-rendered SVG line chart of p50 and p90 over time: the
// template draws it from these numbers, so no script and no chart library.
type chart struct {
	ID            string
	Title         string
	Width, Height int
	// Left, Right, Top, Bottom are the plot area's edges in SVG units.
	Left, Right, Top, Bottom int
	Lines                    []chartLine
	YTicks, XTicks           []chartTick
	Empty                    bool // no bucket has a sample
}

type chartLine struct {
	Class  string // p50 | p90
	Label  string
	Points string // polyline points "x,y x,y"
	Dots   []chartDot
}

type chartDot struct {
	X, Y  int
	Title string // "week of Mon 2 Nov: p90 3m"
}

type chartTick struct {
	X, Y  int
	Label string
}

const (
	chartW, chartH                               = 640, 240
	chartLeft, chartRight, chartTop, chartBottom = 56, 600, 12, 204
)

// buildChart plots the buckets of pts that have samples (pick chooses TTA
// or TTR); empty buckets are gaps the line passes over.
func buildChart(id, title string, pts []reports.Point, step time.Duration, k clock, pick func(reports.Point) reports.Stats) chart {
	c := chart{ID: id, Title: title, Width: chartW, Height: chartH,
		Left: chartLeft, Right: chartRight, Top: chartTop, Bottom: chartBottom}
	max := 0.0
	for _, p := range pts {
		if s := pick(p); s.N > 0 && s.P90 > max {
			max = s.P90
		}
	}
	if max == 0 {
		c.Empty = true
		max = 60
	}
	top := niceCeil(max)
	x := func(i int) int {
		if len(pts) <= 1 {
			return (chartLeft + chartRight) / 2
		}
		return chartLeft + i*(chartRight-chartLeft)/(len(pts)-1)
	}
	y := func(v float64) int { return chartBottom - int(v/top*float64(chartBottom-chartTop)+0.5) }
	for _, line := range []struct {
		class, label string
		val          func(reports.Stats) float64
	}{{"p50", "p50", func(s reports.Stats) float64 { return s.P50 }}, {"p90", "p90", func(s reports.Stats) float64 { return s.P90 }}} {
		l := chartLine{Class: line.class, Label: line.label}
		var pp []string
		for i, p := range pts {
			s := pick(p)
			if s.N == 0 {
				continue
			}
			d := chartDot{X: x(i), Y: y(line.val(s)),
				Title: fmt.Sprintf("%s from %s: %s %s (%d incidents)", bucketName(step), k.At(p.Start).Local, line.label, humanSeconds(line.val(s)), s.N)}
			l.Dots = append(l.Dots, d)
			pp = append(pp, strconv.Itoa(d.X)+","+strconv.Itoa(d.Y))
		}
		l.Points = strings.Join(pp, " ")
		c.Lines = append(c.Lines, l)
	}
	for i := 0; i <= 4; i++ {
		v := top * float64(i) / 4
		c.YTicks = append(c.YTicks, chartTick{X: chartLeft - 6, Y: y(v), Label: humanSeconds(v)})
	}
	every := (len(pts) + 5) / 6
	for i := 0; i < len(pts); i += max1(every) {
		c.XTicks = append(c.XTicks, chartTick{X: x(i), Y: chartBottom + 18, Label: pts[i].Start.In(k.Loc).Format("2 Jan")})
	}
	return c
}

func max1(n int) int {
	if n < 1 {
		return 1
	}
	return n
}

func bucketName(step time.Duration) string {
	if step == 24*time.Hour {
		return "day"
	}
	if step == 7*24*time.Hour {
		return "week"
	}
	return humanSeconds(step.Seconds())
}

// niceCeil rounds a number of seconds up to a readable axis top.
func niceCeil(v float64) float64 {
	for _, n := range []float64{60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 28800, 43200, 86400} {
		if v <= n {
			return n
		}
	}
	d := 86400.0
	for d < v {
		d *= 2
	}
	return d
}

// humanSeconds shows seconds as "45s", "3m 20s", "2h 5m" or "3d 4h".
func humanSeconds(s float64) string {
	d := time.Duration(s * float64(time.Second)).Round(time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d/time.Second))
	case d < time.Hour:
		if sec := int(d % time.Minute / time.Second); sec != 0 {
			return fmt.Sprintf("%dm %ds", int(d/time.Minute), sec)
		}
		return fmt.Sprintf("%dm", int(d/time.Minute))
	case d < 24*time.Hour:
		return fmt.Sprintf("%dh %dm", int(d/time.Hour), int(d%time.Hour/time.Minute))
	}
	return fmt.Sprintf("%dd %dh", int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour))
}
