package config

import (
	"net/url"
	"strings"
)

// checkPublicURL requires public_url, when set, to be an absolute http(s)
// URL without query or fragment: links are built by appending paths to it.
func (v *validator) checkPublicURL() {
	s := v.cfg.PublicURL
	if s == "" {
		return
	}
	if err := checkURL(s); err != nil {
		v.add("public_url", "%v", err)
		return
	}
	if u, _ := url.Parse(s); u.RawQuery != "" || u.Fragment != "" {
		v.add("public_url", "invalid URL %q (links are built by appending paths: no query or fragment)", s)
	}
}

// IncidentURL is the console link of an incident, public_url +
// "/ui/incidents/" + key (spec §5.6), or "" when public_url is not set.
func (c *Config) IncidentURL(key string) string {
	if c == nil {
		return ""
	}
	return IncidentURL(c.PublicURL, key)
}

// IncidentURL is the console link of an incident under publicURL, or ""
// when publicURL is empty.
func IncidentURL(publicURL, key string) string {
	if publicURL == "" || key == "" {
		return ""
	}
	return strings.TrimRight(publicURL, "/") + "/ui/incidents/" + url.PathEscape(key)
}
