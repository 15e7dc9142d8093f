package config

import (
	"reflect"

	"gopkg.in/yaml.v3"
)

// Parse merges, expands, decodes and validates sources into a Config. It is
// pure: ${NAME} values come only from lookupEnv (nil means nothing is set),
// and it reads no clock, so the same inputs give the same Config on every
// node. On any problem it returns Errors holding all of them.
//
// Parse fills defaults: timezone "UTC"; a rotation's or schedule's timezone
// from the top-level one; severity.label "severity" and severity.default
// "sev2"; channels.sms.provider "twilio" and api_base "https://api.twilio.com"
// when SMS is configured; and for a user without a notify list, sms then email
// immediately, for whichever of phone and email they have.
func Parse(sources []Source, lookupEnv func(string) (string, bool)) (*Config, error) {
	return parse(sources, lookupEnv, false)
}

// ParseReplicated reads a config that the cluster already committed: a
// config log entry, a snapshot's or a backup's config. It must accept every
// config an earlier release admitted, or replaying that history would fail
// (or diverge from older nodes) on this one. So the checks that are about
// admitting a *new* config are left out: the size bounds, the stricter
// duration reader (the previous reader is the fallback, so "1h1d" still
// reads), and the rotation shift's compilability (CheckShift; a rotation that
// does not compile is reported by schedule.Compile for that rotation alone).
// Everything else is Parse.
func ParseReplicated(sources []Source, lookupEnv func(string) (string, bool)) (*Config, error) {
	return parse(sources, lookupEnv, true)
}

func parse(sources []Source, lookupEnv func(string) (string, bool), replicated bool) (*Config, error) {
	if lookupEnv == nil {
		lookupEnv = func(string) (string, bool) { return "", false }
	}
	errs := &errorList{}
	order := make([]string, len(sources))
	if len(sources) == 0 {
		errs.add(pos{"config", 1, 1}, "no config sources")
	}
	for i, src := range sources {
		order[i] = src.Name
	}
	// A committed config was within the bounds of the release that admitted
	// it; this release's bounds only apply to new configs.
	bounds := errs
	if replicated {
		bounds = &errorList{}
	}
	if !checkBytes(sources, bounds) && !replicated {
		return nil, errs.sorted(order)
	}
	files := fileIndex{}
	roots := make([]*yaml.Node, 0, len(sources))
	written := 0
	for _, src := range sources {
		root := parseSource(src, errs)
		files.record(root, src.Name)
		roots = append(roots, root)
		written += countNodes(root)
	}
	if !checkNodes(written, sources, bounds) && !replicated {
		return nil, errs.sorted(order)
	}
	// A file that does not parse contributes nothing, so cross-references into
	// it would all look broken; validation waits until every file parses.
	syntaxOK := len(errs.errs) == 0
	merged := merge(roots, files, errs)

	var cfg Config
	d := &decoder{files: files, lookup: lookupEnv, errs: errs, where: map[string]pos{}, budget: decodeBudget(len(files)), replicated: replicated}
	d.decode(merged, reflect.ValueOf(&cfg).Elem(), "", false)
	if syntaxOK && !d.tooBig {
		v := &validator{cfg: &cfg, where: d.where, bad: d.bad, errs: errs, fallback: firstPos(sources), fromEnv: d.fromEnv, replicated: replicated}
		v.run()
	}
	if len(errs.errs) > 0 {
		return nil, errs.sorted(order)
	}
	return &cfg, nil
}

func firstPos(sources []Source) pos {
	if len(sources) == 0 {
		return pos{"config", 1, 1}
	}
	return pos{sources[0].Name, 1, 1}
}
