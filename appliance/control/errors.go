package control

import (
	"errors"
	"fmt"
)

// Kind says how an operation was refused or failed, the same on both sides
// of the socket.
type Kind string

const (
	// Failed: the operation could not be done (the store's error, a
	// model mismatch...).
	Failed Kind = "failed"
	// NotFound: the named staff member, customer or visitor does not
	// exist; nothing was changed.
	NotFound Kind = "not_found"
	// Invalid: the request itself is wrong (a bad name, a bad mode);
	// nothing was changed.
	Invalid Kind = "invalid"
	// Confirm: a change that deletes people was asked without its
	// confirmation; nothing was changed.
	Confirm Kind = "confirm"
)

// Error is a refusal of Ops, with its Kind. Other errors are Failed.
type Error struct {
	Kind Kind
	Msg  string
}

func (e *Error) Error() string { return e.Msg }

func refuse(k Kind, format string, a ...any) error {
	return &Error{Kind: k, Msg: fmt.Sprintf(format, a...)}
}

// KindOf is the Kind of an error from Ops or a Client (nil: "").
func KindOf(err error) Kind {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return Failed
}
