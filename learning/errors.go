package learning

import (
	"fmt"

	"github.com/pagerd/pagerd/incident"
)

// fieldError is a refused command. It unwraps to incident.ErrInvalid
// (400), ErrNotFound (404) or ErrConflict (409), so the API maps it like
// any refused command, with only its own message (which names the field).
type fieldError struct {
	msg  string
	kind error
}

func (e *fieldError) Error() string { return e.msg }
func (e *fieldError) Unwrap() error { return e.kind }

func invalid(format string, a ...any) error {
	return &fieldError{msg: fmt.Sprintf(format, a...), kind: incident.ErrInvalid}
}

func notFound(format string, a ...any) error {
	return &fieldError{msg: fmt.Sprintf(format, a...), kind: incident.ErrNotFound}
}

func conflict(format string, a ...any) error {
	return &fieldError{msg: fmt.Sprintf(format, a...), kind: incident.ErrConflict}
}
