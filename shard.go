package heartbeat

import (
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/cespare/xxhash/v2"
)

// node is one stored item: its place in the expiry index first (what a
// renewal touches), then the item and the key it is stored under.
type node[T any] struct {
	entry
	item T
	key  string // the ID the item had at Update; the map's key
}

// Nodes live in fixed-size chunks, addressed by int32 index, so that growing
// never copies what is stored (no pause proportional to the shard's size),
// and a node costs no allocation of its own once its chunk exists.
const (
	chunkBits = 8
	chunkSize = 1 << chunkBits
	chunkMask = chunkSize - 1
)

type slab[T any] struct {
	chunks []*[chunkSize]node[T]
	used   int32 // indices below this have been handed out at least once
	free   int32 // head of the free list, linked through the entries' next
}

func (s *slab[T]) at(i int32) *node[T] { return &s.chunks[i>>chunkBits][i&chunkMask] }

func (s *slab[T]) full() bool { return s.free == nilIndex && s.used == maxNodes }

// alloc hands out a free node; the caller has checked that the slab is not
// full.
func (s *slab[T]) alloc() int32 {
	if i := s.free; i != nilIndex {
		s.free = s.at(i).next()
		return i
	}
	if int(s.used) == len(s.chunks)*chunkSize {
		s.chunks = append(s.chunks, new([chunkSize]node[T]))
	}
	i := s.used
	s.used++
	return i
}

// release returns node i to the free list, dropping its references so that
// the garbage collector can reclaim what the item pointed to. It keeps the
// mark of the available list, which may still hold the index.
func (s *slab[T]) release(i int32) {
	n := s.at(i)
	listed := n.onAvailList()
	*n = node[T]{}
	n.setFlag(inListBit, listed)
	n.setBucket(noBucket)
	n.setNext(s.free)
	s.free = i
}

// shard is one lock stripe of the registry: its part of the keyspace, its
// expiry index and its counters.
//
// Counts are read without the lock: writers bracket every change to them
// (and to the wheel's minDeadline) with two increments of seq, a seqlock, so
// that a reader sees one shard's counts as of one moment or retries. A plain
// renewal changes none of them and skips the seqlock.
type shard[T any] struct {
	// A plain mutex, not an RWMutex: renewals dominate, and a writer that
	// meets a reader on an RWMutex parks. Measured at 10^6 items, 2 CPUs:
	// Mixed 90/10 268 ns/op against 444, Update 227 against 261, Get 439
	// against 398 (xsync.RBMutex: 510, 245, 375).
	mu      sync.Mutex
	waiting atomic.Int32 // writers blocked on mu: background work yields to them
	seq     atomic.Uint64
	total   atomic.Int64 // stored items, stale or not
	avail   atomic.Int64 // stored items that say they are available

	index     index[T]
	nodes     slab[T]
	availList []int32 // every available node, and at most as many others again: ListAvailable is O(available)
	wheel     wheel[T]
	events    eventQueue // nil ring: no handler, no events
	stats     shardStats

	_ [128]byte // keeps the next shard's lock and counters off these cache lines
}

// shardStats are written under the shard's lock and read without it.
type shardStats struct {
	updates, inserts, removals, expirations, rejected counter
}

// counter is a statistic written only under a lock, so an increment is a
// plain load and store; it is atomic only so that Stats may read it
// without the lock.
type counter struct{ v atomic.Int64 }

func (c *counter) add(n int64) { c.v.Store(c.v.Load() + n) }
func (c *counter) load() int64 { return c.v.Load() }

func (s *shard[T]) init(now int64, eventBuffer int, wake chan struct{}) {
	s.nodes.free = nilIndex
	s.index.init(&s.nodes)
	s.wheel.init(&s.nodes, now)
	if eventBuffer > 0 {
		s.events.ring, s.events.size = make([]Event, eventBuffer), eventBuffer
		s.events.wake = wake
		s.wheel.events = &s.events
	}
}

// hashID is the one hash of an ID: its low bits pick the shard, its high 32
// bits are the tag in that shard's index.
func hashID(id string) uint64 { return xxhash.Sum64String(id) }

// stopEvents turns the shard's events off, for good, counting any still
// queued as dropped.
func (s *shard[T]) stopEvents() {
	s.mu.Lock()
	s.events.dropped.Add(int64(s.events.n))
	s.events.ring, s.events.n, s.wheel.events = nil, 0, nil
	s.events.pending.Store(0)
	s.mu.Unlock()
}

// lock takes the shard's lock for a foreground operation, noting when it
// has to wait so that background work (cleanups, count catch-ups) steps
// aside between batches.
func (s *shard[T]) lock() {
	if s.mu.TryLock() {
		return
	}
	s.waiting.Add(1)
	s.mu.Lock()
	s.waiting.Add(-1)
}

// yieldLock releases the lock between batches of background work and takes
// it back once the writers that were waiting have had their turn. Without
// it, the background goroutine would take the lock straight back (a Go
// mutex lets the unlocker barge ahead of a waiter it has just woken), and a
// waiting renewal would wait until the mutex turned to FIFO after 1 ms.
func (s *shard[T]) yieldLock() {
	s.unlockYield()
	s.mu.Lock()
}

// unlockYield releases the lock at the end of background work and lets the
// writers that were waiting run first. Yielding matters even here: the
// writer just woken waits on this P's run queue, and another P may take
// long to come and fetch it (on a virtual machine, to wake its vCPU).
func (s *shard[T]) unlockYield() {
	s.events.notify()
	s.mu.Unlock()
	for i := 0; i < 64 && s.waiting.Load() > 0; i++ {
		runtime.Gosched()
	}
	s.events.awaitRoom()
}

// emit queues an event about node i, if events are on.
func (s *shard[T]) emit(i int32, k EventKind) {
	if s.events.ring != nil {
		s.events.push(s.nodes.at(i).key, k)
	}
}

// update stores item under id with deadline d, unless rejectOlder and d is
// earlier than the stored deadline. It reports whether it stored the item
// and whether it queued events. The caller has read ID, LastSeen and
// IsAvailable already: no user code runs under the lock.
func (s *shard[T]) update(tag uint32, id string, item T, d int64, avail, rejectOlder bool) (stored, queued bool) {
	s.lock()
	if i, _, _ := s.index.find(tag, id); i != nilIndex {
		n := s.nodes.at(i)
		if rejectOlder && d < n.deadline {
			s.stats.rejected.add(1)
			s.mu.Unlock()
			return false, false
		}
		s.stats.updates.add(1)
		n.item = item
		wasAvail := n.available()
		if avail == wasAvail && n.bucket() < numSlots && d >= n.deadline {
			// The hot path: a renewal that moves the deadline later. One
			// store; the wheel re-files the node when its slot falls due.
			n.deadline = d
			s.mu.Unlock()
			return true, false
		}
		s.seq.Add(1)
		wasStale := n.bucket() == staleBucket
		s.setAvailable(i, avail)
		s.wheel.renew(i, d)
		switch isStale := n.bucket() == staleBucket; {
		case wasStale && !isStale:
			s.emit(i, EventOnline)
		case !wasStale && isStale:
			s.emit(i, EventStale)
		}
		if avail != wasAvail {
			s.emit(i, availabilityEvent(avail))
		}
		s.seq.Add(1)
		queued = s.events.n > 0
		s.mu.Unlock()
		return true, queued
	}
	if s.nodes.full() {
		s.mu.Unlock() // nothing changed: the shard stays usable if the caller recovers
		panic("heartbeat: a shard holds at most 67108863 items; give the registry more shards (WithShards)")
	}
	s.seq.Add(1)
	s.stats.updates.add(1)
	s.stats.inserts.add(1)
	i := s.nodes.alloc()
	n := s.nodes.at(i)
	n.item, n.key, n.deadline = item, id, d
	n.setBucket(noBucket)
	s.index.insert(tag, i)
	s.total.Add(1)
	s.setAvailable(i, avail)
	s.wheel.file(i)
	if n.bucket() != staleBucket { // a heartbeat already stale on arrival was never online
		s.emit(i, EventOnline)
	}
	if avail { // like a renewal's, whether or not the item is online
		s.emit(i, EventAvailable)
	}
	s.seq.Add(1)
	queued = s.events.n > 0
	s.mu.Unlock()
	return true, queued
}

func availabilityEvent(avail bool) EventKind {
	if avail {
		return EventAvailable
	}
	return EventUnavailable
}

// setAvailable keeps the available flag, list and counts in step with node
// i. A node that stops being available stays on the list, flagged off (a
// node's entry has no room for its position in the list); the list is
// compacted once it holds more than twice the available nodes, so it stays
// O(available) and each flip costs O(1) amortized.
func (s *shard[T]) setAvailable(i int32, avail bool) {
	n := s.nodes.at(i)
	if avail == n.available() {
		return
	}
	n.setFlag(availBit, avail)
	if avail {
		s.avail.Add(1)
		if !n.onAvailList() {
			n.setFlag(inListBit, true)
			s.availList = append(s.availList, i)
		}
	} else {
		s.avail.Add(-1)
		if len(s.availList) > 2*int(s.avail.Load())+64 {
			s.compactAvailList()
		}
	}
	if n.bucket() != noBucket {
		s.wheel.availabilityChanged(i, avail)
	}
}

func (s *shard[T]) compactAvailList() {
	kept := s.availList[:0]
	for _, j := range s.availList {
		if n := s.nodes.at(j); n.available() {
			kept = append(kept, j)
		} else {
			n.setFlag(inListBit, false)
		}
	}
	s.availList = kept
}

// drop removes node i, found at slot p of table t, entirely, and queues
// event k about it. Called with the lock held, inside a seqlock write.
func (s *shard[T]) drop(i int32, t *table, p int, k EventKind) {
	s.emit(i, k)
	s.setAvailable(i, false)
	s.wheel.remove(i)
	t.delete(p)
	s.nodes.release(i)
	s.total.Add(-1)
}

// remove deletes id, reporting whether it was stored and whether events
// were queued.
func (s *shard[T]) remove(tag uint32, id string) (removed, queued bool) {
	s.lock()
	defer s.mu.Unlock()
	i, t, p := s.index.find(tag, id)
	if i == nilIndex {
		return false, false
	}
	s.seq.Add(1)
	s.drop(i, t, p, EventRemoved)
	s.stats.removals.add(1)
	s.seq.Add(1)
	return true, s.events.n > 0
}

// get returns a copy of the node stored for id, if any.
func (s *shard[T]) get(tag uint32, id string) (item T, deadline int64, ok bool) {
	s.lock()
	if i, _, _ := s.index.find(tag, id); i != nilIndex {
		n := s.nodes.at(i)
		item, deadline, ok = n.item, n.deadline, true
	}
	s.mu.Unlock()
	return item, deadline, ok
}

// lockBudget bounds the entries a cleanup handles per hold of a shard's
// lock, so a renewal waiting behind a mass expiry waits microseconds.
const lockBudget = 128

// advanceLocked brings the shard's wheel to now, releasing the lock between
// batches of work. It returns with the lock held and the wheel at now.
func (s *shard[T]) advanceLocked(now int64) {
	s.mu.Lock()
	s.advanceHeld(now)
}

// advanceHeld is advanceLocked for a caller that holds the lock already.
func (s *shard[T]) advanceHeld(now int64) {
	for {
		s.seq.Add(1)
		done := s.wheel.advance(now, lockBudget)
		s.seq.Add(1)
		if done {
			return
		}
		s.yieldLock()
	}
}

// cleanup removes every item stale at now and returns how many, and
// whether it queued events.
func (s *shard[T]) cleanup(now int64) (removed int, queued bool) {
	s.advanceLocked(now)
	for {
		s.seq.Add(1)
		n := 0
		for ; n < lockBudget; n++ {
			i := s.wheel.heads[staleBucket]
			if i == nilIndex {
				break
			}
			key := s.nodes.at(i).key
			_, t, p := s.index.find(tagOf(hashID(key)), key)
			s.drop(i, t, p, EventExpired)
		}
		s.stats.expirations.add(int64(n))
		s.seq.Add(1)
		removed += n
		queued = queued || s.events.n > 0
		if n < lockBudget {
			s.unlockYield()
			return removed, queued
		}
		// Writers run here; a renewal may rescue what is left.
		s.yieldLock()
		s.advanceHeld(now)
	}
}

// counts returns the online and available counts at now, and whether it
// queued events (items it found newly stale).
func (s *shard[T]) counts(now int64) (online, available int64, queued bool) {
	// Fast path: nothing filed can have gone stale yet, so the counts are
	// the stored ones less the known-stale ones. No lock, no scan.
	for range 4 {
		q := s.seq.Load()
		if q&1 != 0 {
			continue
		}
		if now >= s.wheel.minDeadline.Load() {
			break
		}
		t, a := s.total.Load(), s.avail.Load()
		st, sa := s.wheel.stale.Load(), s.wheel.staleAvail.Load()
		if s.seq.Load() == q {
			return t - st, a - sa, false
		}
	}
	s.advanceLocked(now)
	online = s.total.Load() - s.wheel.stale.Load()
	available = s.avail.Load() - s.wheel.staleAvail.Load()
	queued = s.events.n > 0
	s.unlockYield()
	return online, available, queued
}
