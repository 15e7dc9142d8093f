package config

import (
	"crypto/sha256"
	"crypto/subtle"
)

// Service returns the service with the given id.
func (c *Config) Service(id string) (Service, bool) {
	for _, s := range c.Services {
		if s.ID == id {
			return s, true
		}
	}
	return Service{}, false
}

// User returns the user with the given id.
func (c *Config) User(id string) (User, bool) {
	for _, u := range c.Users {
		if u.ID == id {
			return u, true
		}
	}
	return User{}, false
}

// IntegrationByKey returns the integration whose key is key. Every key is
// compared, in constant time, so response timing reveals nothing about keys.
func (c *Config) IntegrationByKey(key string) (*Integration, bool) {
	if key == "" {
		return nil, false
	}
	found := -1
	for i := range c.Integrations {
		if secretEqual(key, c.Integrations[i].Key) && found < 0 {
			found = i
		}
	}
	if found < 0 {
		return nil, false
	}
	return &c.Integrations[found], true
}

// secretEqual compares digests rather than the strings themselves so that not
// even the length of a configured secret leaks through timing.
func secretEqual(given, configured string) bool {
	if configured == "" {
		return false
	}
	a, b := sha256.Sum256([]byte(given)), sha256.Sum256([]byte(configured))
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1
}
