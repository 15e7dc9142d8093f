// Package config loads, validates and describes pagerd configurations (the
// YAML of spec §3).
//
// Sources are parsed into yaml.Node trees and decoded by a small reflection
// decoder over the yaml tags of Config, so that every problem (syntax, unknown
// key, wrong type, bad reference) is reported as FILE:LINE:COL: message, and
// all problems are reported at once (Errors). ${NAME} references are expanded
// per field while decoding; the values come from a lookup function passed to
// Parse rather than from the process environment, so a leader can capture them
// once (CaptureEnv) and every node expands a replicated config identically.
//
// Secret fields are tagged secret:"true" in the types. Their values never
// appear in error messages, and Redacted blanks them for display.
//
// Entry points: Load (files and the process environment), ReadSources + Parse
// (explicit environment), EnvRefs, Version, Redacted.
package config
