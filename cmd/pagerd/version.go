package main

import (
	"flag"
	"fmt"
	"io"
	"runtime/debug"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3";
// otherwise the module version (or "devel") and the VCS revision Go stamps
// into the binary are shown.
var version = ""

func runVersion(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("version", flag.ContinueOnError)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("unexpected argument %q", pos[0])
	}
	fmt.Fprintln(stdout, versionLine())
	return nil
}

// versionLine is "pagerd v1.2.3 (abc1234, modified) go1.26.0".
func versionLine() string {
	v, rev, dirty, goVersion := version, "", false, ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		goVersion = bi.GoVersion
		if v == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
	}
	if v == "" {
		v = "devel"
	}
	line := "pagerd " + v
	if rev != "" {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		if dirty {
			rev += ", modified"
		}
		line += " (" + rev + ")"
	}
	if goVersion != "" {
		line += " " + goVersion
	}
	return line
}

// nodeVersion is versionLine without the program name: what this node
// announces to the cluster (GET /v1/cluster, pagerd cluster status).
func nodeVersion() string { return versionLine()[len("pagerd "):] }
