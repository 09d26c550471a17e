package heartbeat

import (
	"sync"
	"sync/atomic"
	"time"
)

// The janitor is a goroutine, started by WithCleanupInterval, that calls
// CleanupStale every interval, so that stale items are removed and their
// EventStale fires within one interval of their deadline even when nobody
// asks. Close stops it.

func (r *Registry[T, I]) janitor(interval time.Duration, ticks func(time.Duration) (<-chan time.Time, func(), func())) {
	defer r.janitorDone.Done()
	tick, ran, stop := ticks(interval)
	defer stop()
	for {
		select {
		case <-tick:
			r.CleanupStale()
			ran()
		case <-r.stopJanitor:
			return
		}
	}
}

// realTicks is the janitor's clock: a ticker, and nothing to tell after a
// run. Tests replace it to decide when the janitor runs and know when it has.
func realTicks(d time.Duration) (tick <-chan time.Time, ran, stop func()) {
	t := time.NewTicker(d)
	return t.C, func() {}, t.Stop
}

// Close stops the janitor, then the event dispatcher once it has delivered
// the events queued until then (the janitor's last run's included), and
// waits for both to exit. From then on the registry makes no events; any
// that other goroutines' calls make while Close runs are counted as
// dropped. It is idempotent and always returns nil. A registry without
// either has nothing to stop. The registry stays usable after Close,
// without them. Do not call Close from an event handler: it waits for the
// handler.
func (r *Registry[T, I]) Close() error {
	r.closeOnce.Do(func() {
		close(r.stopJanitor)
		r.janitorDone.Wait()
		close(r.stopDispatch)
		r.dispatchDone.Wait()
		if r.onEvent != nil {
			for i := range r.shards {
				r.shards[i].stopEvents()
			}
		}
	})
	return nil
}

// pauseGrace is the registry's defence against its own pauses (a GC stall,
// a suspended VM, a janitor that could not run): when two clock readings are
// further apart than the janitor could ever leave them, the registry was not
// running in between, and the heartbeats that arrived meanwhile have not
// been processed. Declaring the fleet dead then would be wrong, so for one
// timeout after the resume the registry keeps time, for expiry, at the
// moment the pause began: nothing that was online then expires until every
// item has had a full timeout to be heard from again. etcd extends leases on
// leader promotion and the Kubernetes node controller waits out a grace
// period at start-up for the same reason.
type pauseGrace struct {
	mu     sync.Mutex
	start  atomic.Int64 // the last reading before the pause
	until  atomic.Int64 // the resume plus one timeout
	pauses atomic.Int64
}

// detected records a pause from reading before to reading after. A pause
// that begins while an earlier grace still runs extends that grace and
// keeps its start: what the first pause protected stays protected.
func (g *pauseGrace) detected(before, after, timeout int64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if before <= g.start.Load() {
		return // a concurrent reader recorded this pause already
	}
	if before >= g.until.Load() {
		g.start.Store(before) // before until: a reader that sees the new until sees this
	}
	g.until.Store(max(g.until.Load(), addSat(after, timeout)))
	g.pauses.Add(1)
}

// expiryTime returns the time against which deadlines are judged at
// registry time now: now itself, or during a grace the pause's start.
func (g *pauseGrace) expiryTime(now int64) int64 {
	if now < g.until.Load() {
		return min(now, g.start.Load())
	}
	return now
}
