package config

import (
	"fmt"

	"gopkg.in/yaml.v3"
)

// Size bounds, checked before any work that grows with the document: a
// config of many thousands of users is a few hundred KiB, so these leave a
// wide margin while refusing a runaway file in milliseconds instead of after
// seconds and gigabytes of decoding.
const (
	// MaxConfigBytes bounds the sources together (PUT /v1/config's body
	// limit is the same).
	MaxConfigBytes = 4 << 20
	// MaxConfigNodes bounds the YAML nodes written in the sources together
	// (aliases are bounded separately, by the decode budget).
	MaxConfigNodes = 200_000
)

// checkBytes reports sources that are too large together, before parsing.
func checkBytes(sources []Source, errs *errorList) bool {
	total := 0
	for _, s := range sources {
		total += len(s.Data)
	}
	if total <= MaxConfigBytes {
		return true
	}
	errs.add(firstPos(sources), "config too large: %d bytes in %d file(s), limit %d bytes (%d MiB)", total, len(sources), MaxConfigBytes, MaxConfigBytes>>20)
	return false
}

// countNodes counts the nodes written in a tree, not following aliases.
func countNodes(n *yaml.Node) int {
	if n == nil {
		return 0
	}
	c := 1
	for _, k := range n.Content {
		c += countNodes(k)
	}
	return c
}

// checkNodes reports a document with too many written nodes.
func checkNodes(written int, sources []Source, errs *errorList) bool {
	if written <= MaxConfigNodes {
		return true
	}
	errs.add(firstPos(sources), "config too large: %d YAML nodes, limit %d", written, MaxConfigNodes)
	return false
}

func sizeError(name string, size int64) error {
	return fmt.Errorf("read config %s: too large: %d bytes, limit %d bytes (%d MiB)", name, size, MaxConfigBytes, MaxConfigBytes>>20)
}
