package status

import "github.com/pagerd/pagerd/reply"

func testKeyring() reply.Keyring {
	return reply.Keyring{Keys: []reply.Key{{ID: 7, Secret: []byte("0123456789abcdef0123456789abcdef")}}}
}
