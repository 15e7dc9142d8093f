package router

import (
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// maxLinkLen bounds a stored link. Prometheus' generatorURL carries the
// rule's expression and is rarely over a few hundred bytes; a longer one is
// dropped rather than stored in every snapshot and page.
const maxLinkLen = 2048

// httpLink returns s if it is an absolute http(s) URL of sensible length,
// else "". Links are informational (a graph, a silence form): a bad one is
// dropped, never refused, and only http(s) is kept because pages and the
// outbox show them to people who click them.
func httpLink(s string) string {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > maxLinkLen {
		return ""
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return ""
	}
	return s
}

// silenceURL is the link to Alertmanager's new-silence form pre-filled with
// matchers for every label of the alert, e.g.
//
//	http://am:9093/#/silences/new?filter=%7Balertname%3D%22HighErrorRate%22%2C%20instance%3D%22web-1%22%7D
//
// which is how Alertmanager's own UI links to it. Empty without a usable
// external URL or labels.
func silenceURL(externalURL string, labels map[string]string) string {
	base := httpLink(externalURL)
	if base == "" || len(labels) == 0 {
		return ""
	}
	names := make([]string, 0, len(labels))
	for k := range labels {
		names = append(names, k)
	}
	sort.Strings(names)
	matchers := make([]string, len(names))
	for i, k := range names {
		matchers[i] = k + "=" + strconv.Quote(labels[k])
	}
	filter := "{" + strings.Join(matchers, ", ") + "}"
	// Spaces as %20, not "+": the UI decodes the fragment's query as a URI
	// component, which leaves "+" a plus.
	escaped := strings.ReplaceAll(url.QueryEscape(filter), "+", "%20")
	return httpLink(strings.TrimRight(base, "/") + "/#/silences/new?filter=" + escaped)
}
