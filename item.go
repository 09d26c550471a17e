package heartbeat

import (
	"errors"
	"time"
)

// Item is one heartbeat: the latest report of one fleet member (a worker, a
// hive, a node, a model). The registry keeps the latest Item per ID.
//
// It is the Go form of the original crate's HeartbeatItem trait, with one
// change: instead of answering "is this recent?" (which can only be asked of
// every item in turn, a full scan), an Item says when it was sent, and the
// registry derives recency from that time, its clock and its timeout.
//
// The registry calls ID, LastSeen and IsAvailable once per Update, before it
// takes any lock, and Info only after it has released every lock, so these
// methods may block or call back into the registry. They should be cheap and
// must not panic for the registry to be useful, but a panic in one of them
// leaves the registry consistent.
type Item[I any] interface {
	// ID is the stable identity of the fleet member: the registry's key.
	// The value returned at Update is the one stored; an empty ID is refused.
	ID() string
	// Info is what the registry's queries return for this item.
	Info() I
	// IsAvailable reports whether the member is ready for work. It only
	// matters while the item is online.
	IsAvailable() bool
	// LastSeen is when this heartbeat was sent. The item is online while
	// now < LastSeen + timeout, on the registry's clock.
	LastSeen() time.Time
}

// ErrEmptyID is returned by Update for an item whose ID is empty. Nothing is
// stored.
var ErrEmptyID = errors.New("heartbeat: item has an empty ID")
