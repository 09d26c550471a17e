package heartbeat

import (
	"fmt"
	"runtime"
	"sync/atomic"
	"time"
)

// EventKind says what happened to an item.
type EventKind uint8

const (
	// EventOnline: a new item was stored online, or a stale one was renewed.
	EventOnline EventKind = iota + 1
	// EventStale: the item's deadline passed. It is still stored until a
	// cleanup removes it (EventExpired) or a heartbeat renews it
	// (EventOnline).
	EventStale
	// EventAvailable: the item's heartbeat now says it is available.
	EventAvailable
	// EventUnavailable: the item's heartbeat no longer says it is available.
	EventUnavailable
	// EventRemoved: Remove deleted the item.
	EventRemoved
	// EventExpired: a cleanup deleted the item, stale.
	EventExpired
)

func (k EventKind) String() string {
	switch k {
	case EventOnline:
		return "online"
	case EventStale:
		return "stale"
	case EventAvailable:
		return "available"
	case EventUnavailable:
		return "unavailable"
	case EventRemoved:
		return "removed"
	case EventExpired:
		return "expired"
	}
	return fmt.Sprintf("EventKind(%d)", uint8(k))
}

// Event is a transition of one item, delivered to the handler given to
// WithEvents.
type Event struct {
	ID   string
	Kind EventKind
}

// DefaultEventBuffer is how many undelivered events the registry holds
// before it drops new ones (see WithEvents).
const DefaultEventBuffer = 1 << 16

// eventQueue is one shard's undelivered events: a ring written under the
// shard's lock and drained by the dispatcher under the same lock, so that
// the events of one ID, which always live in one shard, stay in order.
type eventQueue struct {
	ring    []Event
	head, n int
	size    int          // len(ring) as made; never changes
	pending atomic.Int32 // n, for awaitRoom, which reads it without the lock
	dropped atomic.Int64
	wake    chan struct{} // the dispatcher's
}

// notify wakes the dispatcher without blocking, if events are queued: long
// background work calls it between batches, so that the dispatcher drains
// the ring while the work goes on rather than after.
func (q *eventQueue) notify() {
	if q.n == 0 {
		return
	}
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// push queues e, or counts it dropped when the ring is full: a slow
// handler never blocks a writer.
func (q *eventQueue) push(id string, k EventKind) {
	if q.n == len(q.ring) {
		q.dropped.Store(q.dropped.Load() + 1)
		return
	}
	q.ring[(q.head+q.n)%len(q.ring)] = Event{ID: id, Kind: k}
	q.n++
	q.pending.Store(int32(q.n))
}

// awaitRoom lets background work, between batches, wait up to a
// millisecond for the dispatcher to drain a ring more than half full, so
// that the events of a mass expiry are delivered rather than dropped when
// the handler keeps up. Writers never wait for the dispatcher.
func (q *eventQueue) awaitRoom() {
	if q.pending.Load() <= int32(q.size/2) {
		return
	}
	for deadline := time.Now().Add(time.Millisecond); q.pending.Load() > int32(q.size/2) && time.Now().Before(deadline); {
		runtime.Gosched()
	}
}

// drain appends the queued events to out and empties the ring.
func (q *eventQueue) drain(out []Event) []Event {
	for ; q.n > 0; q.n-- {
		out = append(out, q.ring[q.head])
		q.ring[q.head] = Event{}
		q.head = (q.head + 1) % len(q.ring)
	}
	q.pending.Store(0)
	return out
}

// dispatch delivers events until stop is closed, then delivers what is
// left and returns. It holds no lock while the handler runs, so the
// handler may call the registry; events of one ID arrive in order because
// one goroutine drains each shard's ring in order.
func (r *Registry[T, I]) dispatch(stop <-chan struct{}) {
	var batch []Event
	deliver := func() {
		for i := range r.shards {
			s := &r.shards[i]
			s.lock()
			batch = s.events.drain(batch[:0])
			s.mu.Unlock()
			for _, e := range batch {
				r.onEvent(e)
			}
			r.delivered.Add(int64(len(batch)))
			clear(batch) // drop the IDs until the next batch
		}
	}
	for {
		select {
		case <-r.wake:
			deliver()
		case <-stop:
			deliver()
			return
		}
	}
}

// notify wakes the dispatcher without blocking.
func (r *Registry[T, I]) notify() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}
