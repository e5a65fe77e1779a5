package endpoint

import (
	"errors"
	"fmt"
	"strings"
)

// ErrInvalidID is wrapped by every error ParseID and ParseNetworkID return, and by the operations
// handed a zero ID.
var ErrInvalidID = errors.New("invalid id")

// idLen is the length of a Docker endpoint or network ID.
const idLen = 64

// maxShownID bounds how much of a rejected ID an error message repeats.
const maxShownID = 80

// ID is a Docker endpoint ID that ParseID accepted: 64 lowercase hex characters, safe in interface
// names, aliases and agent requests. Parse it once, where the request arrives; everything below takes
// the ID and checks nothing. The zero ID is no endpoint.
type ID struct{ s string }

// NetworkID is a Docker network ID that ParseNetworkID accepted, of the same form as ID. The zero
// NetworkID is no network.
type NetworkID struct{ s string }

// ParseID parses a Docker endpoint ID: it must match ^[0-9a-f]{64}$.
func ParseID(s string) (ID, error) {
	if err := checkID(s); err != nil {
		return ID{}, err
	}
	return ID{s}, nil
}

// ParseNetworkID parses a Docker network ID: it must match ^[0-9a-f]{64}$.
func ParseNetworkID(s string) (NetworkID, error) {
	if err := checkID(s); err != nil {
		return NetworkID{}, err
	}
	return NetworkID{s}, nil
}

// MustParseID is ParseID for IDs known to be valid (tests, constants); it panics on an invalid one.
func MustParseID(s string) ID {
	id, err := ParseID(s)
	if err != nil {
		panic(err)
	}
	return id
}

// MustParseNetworkID is ParseNetworkID for IDs known to be valid; it panics on an invalid one.
func MustParseNetworkID(s string) NetworkID {
	id, err := ParseNetworkID(s)
	if err != nil {
		panic(err)
	}
	return id
}

func (id ID) String() string        { return id.s }
func (id NetworkID) String() string { return id.s }

// IsZero reports whether id is the zero ID, which no parse returns.
func (id ID) IsZero() bool { return id.s == "" }

// IsZero reports whether id is the zero NetworkID, which no parse returns.
func (id NetworkID) IsZero() bool { return id.s == "" }

// MarshalText renders the ID as its 64 hex characters (JSON logs, JSON bodies).
func (id ID) MarshalText() ([]byte, error) { return []byte(id.s), nil }

// MarshalText renders the ID as its 64 hex characters (JSON logs, JSON bodies).
func (id NetworkID) MarshalText() ([]byte, error) { return []byte(id.s), nil }

// errZeroID is what an operation handed a zero ID returns: a caller that skipped the parse.
func errZeroID(what string) error {
	return fmt.Errorf("%s: %w \"\": a zero ID, not one ParseID returned", what, ErrInvalidID)
}

// checkID reports whether s is a Docker endpoint or network ID, that is whether it matches
// ^[0-9a-f]{64}$.
func checkID(s string) error {
	if len(s) == idLen && strings.Trim(s, "0123456789abcdef") == "" {
		return nil
	}
	shown := s
	if len(shown) > maxShownID {
		shown = shown[:maxShownID]
	}
	return fmt.Errorf("%w %q (%d bytes): want 64 lowercase hex characters", ErrInvalidID, shown, len(s))
}
