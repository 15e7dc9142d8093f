// Package configs holds the example configuration, embedded so the binary has
// a working default when no config file is given.
package configs

import _ "embed"

// Example is configs/example.yaml: a complete config that runs with no
// environment variables set (development keys only).
//
//go:embed example.yaml
var Example []byte
