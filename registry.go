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
// back into the registry. Background work (cleanups, and counts catching up
// on newly stale items) releases a shard's lock every 128 entries and lets
// waiting writers go first; what it still does in one hold is one wheel
// slot's boundary scan, and compacting the available list. The lists hold
// each shard's lock while they copy that shard; for very large fleets the
// iterators hold it for 64 items at a time.
package heartbeat

import (
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/puzpuzpuz/xsync/v3"
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
	timeout     time.Duration
	shards      int
	clock       func() time.Time
	skew        time.Duration
	interval    time.Duration
	intervalSet bool
	pauseAfter  time.Duration
	pauseSet    bool
	onEvent     func(Event)
	eventSet    bool
	eventBuffer int
	rejectOlder bool
	ticks       func(time.Duration) (tick <-chan time.Time, ran, stop func()) // the janitor's; tests replace it
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
// inject a fake one: every judgement of time uses it, and nothing in the
// registry sleeps (the wall clock is read only to time cleanups for Stats,
// and the janitor ticks on it). It must not be nil; New panics otherwise.
func WithClock(now func() time.Time) Option { return func(c *config) { c.clock = now } }

// WithMaxClockSkew sets how far ahead of the registry's clock a heartbeat's
// LastSeen may be: a later one counts as now plus d. It must not be
// negative; New panics otherwise. The default is DefaultMaxClockSkew.
func WithMaxClockSkew(d time.Duration) Option { return func(c *config) { c.skew = d } }

// WithCleanupInterval starts a janitor goroutine that calls CleanupStale
// every d, so stale items are removed, and EventStale fires, within d of
// their deadline. Close stops it. It must be positive; New panics
// otherwise. Without this option the registry starts no goroutine for
// cleaning up.
func WithCleanupInterval(d time.Duration) Option {
	return func(c *config) { c.interval, c.intervalSet = d, true }
}

// WithPauseGrace sets how far apart two readings of the clock must be, while
// a janitor runs, for the registry to conclude that it was paused (GC stall,
// VM suspend, a starved janitor) and grant a grace: for one timeout after the
// resume, nothing that was online when the pause began expires. 0 turns the
// grace off; it must not be negative, New panics otherwise. The default,
// with a janitor, is the larger of 4 janitor intervals and a quarter of the
// timeout: a shorter gap can only tip over items that were nearly stale
// anyway. Without a janitor there is no grace: the registry keeps the exact
// semantics of the package documentation.
func WithPauseGrace(d time.Duration) Option {
	return func(c *config) { c.pauseAfter, c.pauseSet = d, true }
}

// WithEvents delivers every transition (EventOnline, EventStale,
// EventAvailable, EventUnavailable, EventRemoved, EventExpired) to handler,
// from one goroutine of the registry's, in order for each ID, with no lock
// held: the handler may call the registry. Events wait in a bounded buffer
// (WithEventBuffer); a handler too slow to keep up makes the registry drop
// new events, never block a writer, and the drops are counted in Stats.
// EventStale is detected by cleanups and counts: with WithCleanupInterval
// it fires within one interval of the deadline. Close stops the delivery.
// The handler must not be nil; New panics otherwise.
func WithEvents(handler func(Event)) Option {
	return func(c *config) { c.onEvent, c.eventSet = handler, true }
}

// WithEventBuffer sets how many undelivered events the registry holds,
// spread over its shards, before dropping new ones. It must be positive;
// New panics otherwise. The default is DefaultEventBuffer.
func WithEventBuffer(n int) Option { return func(c *config) { c.eventBuffer = n } }

// WithRejectOutOfOrder makes Update refuse, with ErrOutOfOrder, a heartbeat
// that would move a stored item's deadline earlier: with one timeout for
// all items, one sent before the stored one, reordered on the network. The
// refusals are counted in Stats. By default Update is last-writer-wins.
func WithRejectOutOfOrder() Option { return func(c *config) { c.rejectOlder = true } }

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
	shards      []shard[T]
	mask        uint64
	timeout     int64
	skew        int64
	clock       func() time.Time
	last        atomicMax // the latest clock reading: the registry's now
	rejectOlder bool

	perItem itemTimeout
	scratch sync.Pool // of *T, for timeoutViaPointer

	pauseAfter int64 // 0: no pause grace
	grace      pauseGrace

	onEvent   func(Event)
	wake      chan struct{}
	delivered atomic.Int64

	cleanupRuns *xsync.Counter // from the janitor and callers at once: striped
	lastCleanup atomic.Int64
	maxCleanup  atomic.Int64
	pickFrom    atomic.Uint32

	stopJanitor, stopDispatch chan struct{}
	janitorDone, dispatchDone sync.WaitGroup
	closeOnce                 sync.Once
}

// ErrOutOfOrder is returned by Update, with WithRejectOutOfOrder, for a
// heartbeat that would move the stored deadline earlier. Nothing changes.
var ErrOutOfOrder = errors.New("heartbeat: heartbeat older than the one stored")

// TimeoutItem is an Item that sets its own timeout. If the heartbeat type
// has this method, each item is online until LastSeen + Timeout() instead
// of the registry's timeout (a non-positive value means the registry's).
// Items with a 1-second and a 1-hour timeout mix freely.
type TimeoutItem interface {
	Timeout() time.Duration
}

// New returns an empty registry configured by opts. It panics with a clear
// message on an invalid option, as a programmer error.
//
// Name the heartbeat type and Go infers the rest from its Info method:
// New[WorkerHeartbeat]() returns a *Registry[WorkerHeartbeat, WorkerInfo].
func New[T Item[I], I any](opts ...Option) *Registry[T, I] {
	c := config{
		timeout: DefaultTimeout, shards: defaultShards(), clock: time.Now, skew: DefaultMaxClockSkew,
		eventBuffer: DefaultEventBuffer, ticks: realTicks,
	}
	for _, o := range opts {
		if o == nil {
			panic("heartbeat: New: an Option is nil")
		}
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
	case c.intervalSet && c.interval <= 0:
		panic(fmt.Sprintf("heartbeat: WithCleanupInterval(%v): the interval must be positive", c.interval))
	case c.pauseAfter < 0:
		panic(fmt.Sprintf("heartbeat: WithPauseGrace(%v): the threshold must not be negative", c.pauseAfter))
	case c.pauseAfter > 0 && !c.intervalSet:
		panic(fmt.Sprintf("heartbeat: WithPauseGrace(%v): a pause grace needs a janitor (WithCleanupInterval)", c.pauseAfter))
	case c.onEvent == nil && c.eventSet:
		panic("heartbeat: WithEvents(nil): the handler must not be nil")
	case c.eventBuffer < 1:
		panic(fmt.Sprintf("heartbeat: WithEventBuffer(%d): the buffer must hold at least one event", c.eventBuffer))
	}
	r := &Registry[T, I]{
		shards:       make([]shard[T], c.shards),
		mask:         uint64(c.shards - 1),
		timeout:      int64(c.timeout),
		skew:         int64(c.skew),
		clock:        c.clock,
		rejectOlder:  c.rejectOlder,
		onEvent:      c.onEvent,
		cleanupRuns:  xsync.NewCounter(),
		stopJanitor:  make(chan struct{}),
		stopDispatch: make(chan struct{}),
	}
	r.perItem = itemTimeoutOf[T]()
	if r.perItem == timeoutViaPointer {
		r.scratch.New = func() any { return new(T) }
	}
	if c.interval > 0 {
		r.pauseAfter = int64(max(4*c.interval, c.timeout/4))
		if c.pauseSet {
			r.pauseAfter = int64(c.pauseAfter)
		}
	}
	perShard := 0
	if c.onEvent != nil {
		perShard = max(1, c.eventBuffer/c.shards)
		r.wake = make(chan struct{}, 1)
	}
	r.last.v.Store(minNanos)      // before any reading, even one before 1970
	r.grace.start.Store(minNanos) // no grace, even for clocks before 1970
	r.grace.until.Store(minNanos)
	now := r.now()
	for i := range r.shards {
		r.shards[i].init(now, perShard, r.wake)
	}
	if c.onEvent != nil {
		r.dispatchDone.Add(1)
		go func() {
			defer r.dispatchDone.Done()
			r.dispatch(r.stopDispatch)
		}()
	}
	if c.interval > 0 {
		r.janitorDone.Add(1)
		go r.janitor(c.interval, c.ticks)
	}
	return r
}

// now reads the clock once; the registry's time never runs backwards. A
// gap since the previous reading longer than a janitor could leave is a
// pause of the registry (see pauseGrace).
func (r *Registry[T, I]) now() int64 {
	t := unixNanos(r.clock())
	if r.pauseAfter > 0 {
		if prev := r.last.load(); prev != minNanos && t > addSat(prev, r.pauseAfter) {
			r.grace.detected(prev, t, r.timeout)
		}
	}
	return r.last.raise(t)
}

// times reads the clock once and returns the registry's time and the time
// against which deadlines are judged: the same, except during a pause
// grace.
func (r *Registry[T, I]) times() (now, expiry int64) {
	now = r.now()
	return now, r.grace.expiryTime(now)
}

// shard returns id's shard and its tag in that shard's index: the low bits
// of one xxhash pick the shard, the high 32 bits are the tag.
func (r *Registry[T, I]) shard(id string) (*shard[T], uint32) {
	h := hashID(id)
	return &r.shards[h&r.mask], tagOf(h)
}

// deadline returns when item goes stale, applying the clock-skew allowance
// and the item's own timeout. It reads the clock only when the heartbeat is
// dated ahead of the latest reading by more than the allowance, so a
// renewal normally reads no clock at all.
func (r *Registry[T, I]) deadline(item T) int64 {
	ls := unixNanos(item.LastSeen())
	if ls > addSat(r.last.load(), r.skew) {
		ls = min(ls, addSat(r.now(), r.skew))
	}
	timeout := r.timeout
	var own time.Duration
	switch r.perItem {
	case timeoutViaPointer:
		p := r.scratch.Get().(*T)
		*p = item
		if ti, ok := any(p).(TimeoutItem); ok {
			own = ti.Timeout()
		}
		var zero T
		*p = zero // hold no references in the pool
		r.scratch.Put(p)
	case timeoutDirect:
		if ti, ok := any(item).(TimeoutItem); ok { // a nil interface item has none
			own = ti.Timeout()
		}
	}
	if own > 0 {
		timeout = int64(own)
	}
	return addSat(ls, timeout)
}

// itemTimeout is how the registry asks an item for its own timeout,
// decided once at New from the heartbeat type.
type itemTimeout uint8

const (
	noItemTimeout itemTimeout = iota
	// A value type whose pointer has Timeout (value or pointer receiver):
	// called through a pointer into a pooled slot, since boxing the value
	// into an interface would allocate on every renewal.
	timeoutViaPointer
	// A pointer or interface type that has Timeout: boxing it allocates
	// nothing.
	timeoutDirect
)

func itemTimeoutOf[T any]() itemTimeout {
	t, want := reflect.TypeFor[T](), reflect.TypeFor[TimeoutItem]()
	switch {
	case t.Kind() != reflect.Pointer && t.Kind() != reflect.Interface && reflect.PointerTo(t).Implements(want):
		return timeoutViaPointer
	case t.Implements(want):
		return timeoutDirect
	}
	return noItemTimeout
}

// Update stores item as the latest heartbeat of item.ID(), replacing any
// earlier one (last writer wins), and returns ErrEmptyID, storing nothing,
// if the ID is empty (or ErrOutOfOrder, see WithRejectOutOfOrder). If T is
// a pointer type the registry keeps the pointer: do not modify the item
// afterwards.
//
// Cost: O(1). A renewal of a stored ID allocates nothing and reads no clock;
// a new ID may grow the shard's index. It holds one shard's lock for a few
// stores, and calls ID, LastSeen, IsAvailable (and Timeout) once each before
// that. It never waits for an event handler.
func (r *Registry[T, I]) Update(item T) error {
	id := item.ID()
	if id == "" {
		return ErrEmptyID
	}
	d := r.deadline(item)
	avail := item.IsAvailable()
	s, tag := r.shard(id)
	stored, queued := s.update(tag, id, item, d, avail, r.rejectOlder)
	if queued {
		r.notify()
	}
	if !stored {
		return ErrOutOfOrder
	}
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
// one. Cost: O(1), one shard's lock; no allocation.
func (r *Registry[T, I]) Remove(id string) bool {
	s, tag := r.shard(id)
	removed, queued := s.remove(tag, id)
	if queued {
		r.notify()
	}
	return removed
}

// IsOnline reports whether an item is stored under id and is online now.
// Cost: O(1), one clock read and one shard's lock for a lookup; no allocation.
func (r *Registry[T, I]) IsOnline(id string) bool {
	_, expiry := r.times()
	s, tag := r.shard(id)
	_, deadline, ok := s.get(tag, id)
	return ok && deadline > expiry
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
	_, expiry := r.times()
	notify := false
	for i := range r.shards {
		o, a, queued := r.shards[i].counts(expiry)
		online += int(o)
		available += int(a)
		notify = notify || queued
	}
	if notify {
		r.notify()
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
// most 128 entries at a time. No allocation.
func (r *Registry[T, I]) CleanupStale() int {
	began := time.Now()
	_, expiry := r.times()
	removed, notify := 0, false
	for i := range r.shards {
		n, queued := r.shards[i].cleanup(expiry)
		removed += n
		notify = notify || queued
	}
	if notify {
		r.notify()
	}
	took := int64(time.Since(began))
	r.cleanupRuns.Inc()
	r.lastCleanup.Store(took)
	for m := r.maxCleanup.Load(); took > m && !r.maxCleanup.CompareAndSwap(m, took); m = r.maxCleanup.Load() {
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
	_, now := r.times()
	var out []T
	if !availableOnly {
		out = make([]T, 0, r.CountTotal())
	}
	for i := range r.shards {
		s := &r.shards[i]
		s.lock()
		if availableOnly {
			for _, j := range s.availList {
				if n := s.nodes.at(j); n.available() && keep(&n.entry, now) {
					out = append(out, n.item)
				}
			}
		} else {
			for j := range s.nodes.used {
				if n := s.nodes.at(j); n.bucket() != noBucket && keep(&n.entry, now) {
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
