package config

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash"
)

// Version identifies a config: "sha256:<hex>" over the sources (names and
// bytes, in order) and the values of the variables they reference. Variables
// the sources do not reference do not affect it, and an unset one is encoded
// differently from one set to "". Every field is length-prefixed, so no two
// different inputs share an encoding.
func Version(sources []Source, env map[string]string) string {
	h := sha256.New()
	writeField(h, "pagerd-config-v1")
	writeInt(h, len(sources))
	for _, s := range sources {
		writeField(h, s.Name)
		writeField(h, string(s.Data))
	}
	refs := EnvRefs(sources)
	writeInt(h, len(refs))
	for _, name := range refs {
		writeField(h, name)
		if v, ok := env[name]; ok {
			writeInt(h, 1)
			writeField(h, v)
		} else {
			writeInt(h, 0)
		}
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

func writeInt(h hash.Hash, n int) {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(n))
	h.Write(b[:])
}

func writeField(h hash.Hash, s string) {
	writeInt(h, len(s))
	h.Write([]byte(s))
}
