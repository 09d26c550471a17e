// Package heartbeat is a registry of fleet members' latest heartbeats: who is
// stored, who is online (heartbeat younger than a timeout), who is available
// (online and ready for work), and the removal of stale members.
//
// It is built for fleets of 10^5 to 10^7 members renewing at millions of
// heartbeats a second:
//
//   - The keyspace is split by xxhash across a power-of-two number of shards,
//     each with its own lock, so writers of different keys rarely meet.
//   - Each shard keeps a hierarchical timing wheel of deadlines, so
//     CleanupStale costs what expired, not what is stored, and CountOnline
//     and CountAvailable cost O(shards) while nothing has gone stale.
//   - A renewal of an existing member stores the new heartbeat and deadline
//     in place: O(1), no allocation, no clock read.
//
// # Semantics
//
// An item is online while now < LastSeen + timeout, where now is the
// registry's clock (WithClock), read once per call, never once per item; at
// exactly the deadline it is stale. Available means online and
// IsAvailable(). Point queries are exact at the moment of the call: they
// never wait for a cleanup. CountTotal, ListAll and GetAllHeartbeats include
// stale items that have not been cleaned up yet. Update is last-writer-wins.
//
// The registry's clock never runs backwards: each reading is the later of
// the clock and the latest reading it has taken before, so a clock that
// steps back makes time stand still, and nothing expires early. A heartbeat
// dated more than the clock-skew allowance (WithMaxClockSkew) after now is
// treated as sent at now plus the allowance, so a sender whose clock runs
// ahead cannot keep itself online for hours.
//
// # Concurrency
//
// Every method is safe for concurrent use. Operations on one ID are
// linearizable. Counts and lists are exact for each shard at one moment, and
// the shards are visited one after another, so under concurrent writes a
// count or list is weakly consistent: it reflects every change that finished
// before the call began, and any subset of those that overlap it. No lock is
// held while the item's methods run (ID, LastSeen and IsAvailable run before
// Update takes its lock, Info after every lock is released), so they may call
// back into the registry. No method waits on another for longer than a
// bounded batch of work: cleanups release a shard's lock every 512 entries.
package heartbeat

import (
	"fmt"
	"runtime"
	"time"

	"github.com/cespare/xxhash/v2"
)

// DefaultTimeout is the window in which a heartbeat keeps an item online,
// the original crate's 90 seconds (three missed 30-second heartbeats).
const DefaultTimeout = 90 * time.Second

// DefaultMaxClockSkew is how far in the future a heartbeat may be dated
// before the registry treats it as dated now plus this allowance.
const DefaultMaxClockSkew = 10 * time.Second

// maxShards bounds WithShards: more stripes than this only cost memory and
// make counts slower.
const maxShards = 1 << 16

type config struct {
	timeout time.Duration
	shards  int
	clock   func() time.Time
	skew    time.Duration
}

// Option configures a Registry at New.
type Option func(*config)

// WithTimeout sets how long after LastSeen an item stays online. It must be
// positive; New panics otherwise. The default is DefaultTimeout.
func WithTimeout(d time.Duration) Option { return func(c *config) { c.timeout = d } }

// WithShards sets the number of lock stripes. It must be a power of two
// between 1 and 65536; New panics otherwise. The default is 16 per
// GOMAXPROCS, at least 16 and at most 1024.
func WithShards(n int) Option { return func(c *config) { c.shards = n } }

// WithClock sets the clock the registry reads (default time.Now). Tests
// inject a fake one; nothing in the registry sleeps or reads time.Now
// otherwise. It must not be nil; New panics otherwise.
func WithClock(now func() time.Time) Option { return func(c *config) { c.clock = now } }

// WithMaxClockSkew sets how far ahead of the registry's clock a heartbeat's
// LastSeen may be: a later one counts as now plus d. It must not be
// negative; New panics otherwise. The default is DefaultMaxClockSkew.
func WithMaxClockSkew(d time.Duration) Option { return func(c *config) { c.skew = d } }

func defaultShards() int {
	n := 16 * runtime.GOMAXPROCS(0)
	p := 16
	for p < n && p < 1024 {
		p <<= 1
	}
	return p
}

// Registry holds the latest heartbeat of each item, keyed by ID. T is the
// heartbeat type, I what queries return for it (T's Info). The zero value is
// not usable: create one with New.
type Registry[T Item[I], I any] struct {
	shards  []shard[T]
	mask    uint64
	timeout int64
	skew    int64
	clock   func() time.Time
	last    atomicMax // the latest clock reading: the registry's now
}

// New returns an empty registry configured by opts. It panics with a clear
// message on an invalid option, as a programmer error.
//
// Name the heartbeat type and Go infers the rest from its Info method:
// New[WorkerHeartbeat]() returns a *Registry[WorkerHeartbeat, WorkerInfo].
func New[T Item[I], I any](opts ...Option) *Registry[T, I] {
	c := config{timeout: DefaultTimeout, shards: defaultShards(), clock: time.Now, skew: DefaultMaxClockSkew}
	for _, o := range opts {
		o(&c)
	}
	switch {
	case c.timeout <= 0:
		panic(fmt.Sprintf("heartbeat: WithTimeout(%v): the timeout must be positive", c.timeout))
	case c.shards < 1 || c.shards > maxShards || c.shards&(c.shards-1) != 0:
		panic(fmt.Sprintf("heartbeat: WithShards(%d): the shard count must be a power of two from 1 to %d", c.shards, maxShards))
	case c.clock == nil:
		panic("heartbeat: WithClock(nil): the clock must not be nil")
	case c.skew < 0:
		panic(fmt.Sprintf("heartbeat: WithMaxClockSkew(%v): the allowance must not be negative", c.skew))
	}
	r := &Registry[T, I]{
		shards:  make([]shard[T], c.shards),
		mask:    uint64(c.shards - 1),
		timeout: int64(c.timeout),
		skew:    int64(c.skew),
		clock:   c.clock,
	}
	r.last.v.Store(minNanos) // before any reading, even one before 1970
	now := r.now()
	for i := range r.shards {
		r.shards[i].init(now)
	}
	return r
}

// now reads the clock once; the registry's time never runs backwards.
func (r *Registry[T, I]) now() int64 { return r.last.raise(unixNanos(r.clock())) }

// shard returns id's shard and its tag in that shard's index: the low bits
// of one xxhash pick the shard, the high 32 bits are the tag.
func (r *Registry[T, I]) shard(id string) (*shard[T], uint32) {
	h := xxhash.Sum64String(id)
	return &r.shards[h&r.mask], tagOf(h)
}

// deadline returns when an item last seen at seen goes stale, applying the
// clock-skew allowance. It reads the clock only when seen is ahead of the
// latest reading by more than the allowance, so a renewal normally reads no
// clock at all.
func (r *Registry[T, I]) deadline(seen time.Time) int64 {
	ls := unixNanos(seen)
	if ls > addSat(r.last.load(), r.skew) {
		ls = min(ls, addSat(r.now(), r.skew))
	}
	return addSat(ls, r.timeout)
}

// Update stores item as the latest heartbeat of item.ID(), replacing any
// earlier one (last writer wins), and returns ErrEmptyID, storing nothing,
// if the ID is empty. If T is a pointer type the registry keeps the pointer:
// do not modify the item afterwards.
//
// Cost: O(1). A renewal of a stored ID allocates nothing and reads no clock;
// a new ID may grow the shard's map. It holds one shard's lock for a few
// stores, and calls ID, LastSeen and IsAvailable once each before that.
func (r *Registry[T, I]) Update(item T) error {
	id := item.ID()
	if id == "" {
		return ErrEmptyID
	}
	d := r.deadline(item.LastSeen())
	avail := item.IsAvailable()
	s, tag := r.shard(id)
	s.update(tag, id, item, d, avail)
	return nil
}

// Get returns the Info of the item stored under id, stale or not, and
// whether there is one. Cost: O(1), one shard's lock for a lookup and a copy; it allocates
// only what Info does.
func (r *Registry[T, I]) Get(id string) (I, bool) {
	s, tag := r.shard(id)
	item, _, ok := s.get(tag, id)
	if !ok {
		var zero I
		return zero, false
	}
	return item.Info(), true
}

// Remove deletes the item stored under id and reports whether there was
// one. Cost: O(1), the write lock of one shard; no allocation.
func (r *Registry[T, I]) Remove(id string) bool {
	s, tag := r.shard(id)
	return s.remove(tag, id)
}

// IsOnline reports whether an item is stored under id and is online now.
// Cost: O(1), one clock read and one shard's lock for a lookup; no allocation.
func (r *Registry[T, I]) IsOnline(id string) bool {
	now := r.now()
	s, tag := r.shard(id)
	_, deadline, ok := s.get(tag, id)
	return ok && deadline > now
}

// CountTotal returns the number of stored items, stale ones included.
// Cost: O(shards), lock-free; no allocation.
func (r *Registry[T, I]) CountTotal() int {
	var n int64
	for i := range r.shards {
		n += r.shards[i].total.Load()
	}
	return int(n)
}

// CountOnline returns the number of items online now.
//
// Cost: O(shards) and lock-free while nothing stored has gone stale since
// the last count or cleanup. Otherwise a shard first moves its newly stale
// items aside, under its lock: O(newly stale + the few renewed items whose
// old slot fell due), the work a later CleanupStale then does not repeat.
// No allocation.
func (r *Registry[T, I]) CountOnline() int {
	online, _ := r.counts()
	return online
}

// CountAvailable returns the number of items online and available now. Its
// cost is CountOnline's.
func (r *Registry[T, I]) CountAvailable() int {
	_, available := r.counts()
	return available
}

func (r *Registry[T, I]) counts() (online, available int) {
	now := r.now()
	for i := range r.shards {
		o, a := r.shards[i].counts(now)
		online += int(o)
		available += int(a)
	}
	return online, available
}

// CleanupStale removes every item that is stale now and returns how many
// it removed.
//
// Cost: O(expired + re-filed + shards): it visits only the wheel slots that
// fell due since the last cleanup, so the items it looks at are the stale
// ones, renewed ones whose old slot fell due (each at most about once per
// timeout), ones moving down a wheel level, and one boundary slot per
// shard; with nothing due it touches no item. It holds a shard's lock for at
// most 512 entries at a time. No allocation.
func (r *Registry[T, I]) CleanupStale() int {
	now := r.now()
	removed := 0
	for i := range r.shards {
		removed += r.shards[i].cleanup(now)
	}
	return removed
}

// ListAll returns the Info of every stored item, stale ones included, in
// no particular order. Cost: O(n); it allocates the result and a copy of
// each shard's items, and calls Info after releasing every lock.
func (r *Registry[T, I]) ListAll() []I {
	return infos(r.collect(func(*entry, int64) bool { return true }, false))
}

// ListOnline returns the Info of every item online now, in no particular
// order. Cost: O(n), like ListAll.
func (r *Registry[T, I]) ListOnline() []I {
	return infos(r.collect(func(e *entry, now int64) bool { return e.deadline > now }, false))
}

// ListAvailable returns the Info of every item online and available now,
// in no particular order. Cost: O(available items + shards): each shard
// keeps a list of its available items, so a large fleet with few available
// items is cheap to ask.
func (r *Registry[T, I]) ListAvailable() []I {
	return infos(r.collect(func(e *entry, now int64) bool { return e.deadline > now }, true))
}

// GetAllHeartbeats returns a copy of every stored heartbeat, stale ones
// included, for custom filtering. Cost: O(n); it allocates the result.
func (r *Registry[T, I]) GetAllHeartbeats() []T {
	return r.collect(func(*entry, int64) bool { return true }, false)
}

// collect copies out, shard by shard under its lock, the items that
// keep accepts; with availableOnly it walks only the available lists.
func (r *Registry[T, I]) collect(keep func(e *entry, now int64) bool, availableOnly bool) []T {
	now := r.now()
	var out []T
	for i := range r.shards {
		s := &r.shards[i]
		s.mu.Lock()
		if availableOnly {
			for _, j := range s.availList {
				if n := s.nodes.at(j); keep(&n.entry, now) {
					out = append(out, n.item)
				}
			}
		} else {
			if out == nil {
				out = make([]T, 0, r.CountTotal())
			}
			for j := range s.nodes.used {
				if n := s.nodes.at(j); n.bucket != noBucket && keep(&n.entry, now) {
					out = append(out, n.item)
				}
			}
		}
		s.mu.Unlock()
	}
	return out
}

func infos[T Item[I], I any](items []T) []I {
	out := make([]I, len(items))
	for i := range items {
		out[i] = items[i].Info()
	}
	return out
}
