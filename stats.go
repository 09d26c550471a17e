package heartbeat

import "time"

// Stats are the registry's running totals since New. Each field is exact
// for itself, but they are read one shard at a time without stopping
// writers, so under concurrent use they are approximate with respect to
// one another.
type Stats struct {
	Updates            int64 // heartbeats stored, renewals and inserts
	Inserts            int64 // of those, IDs not stored before
	Removals           int64 // items deleted by Remove
	Expirations        int64 // items deleted by cleanups, stale
	RejectedOutOfOrder int64 // heartbeats refused by WithRejectOutOfOrder

	CleanupRuns    int64         // CleanupStale calls, the janitor's included
	CleanupVisited int64         // entries the expiry index looked at (cleanups and counts)
	CleanupRefiled int64         // of those, entries re-filed rather than found stale
	LastCleanup    time.Duration // wall time the latest CleanupStale took
	MaxCleanup     time.Duration // and the longest

	EventsDelivered int64 // events passed to the WithEvents handler
	EventsDropped   int64 // events dropped because the buffer was full
	Pauses          int64 // pauses detected by the janitor's clock (WithPauseGrace)
}

// Stats returns the running totals. Cost: O(shards), lock-free; no
// allocation. The counters behind it are kept under the shard locks the
// operations already hold, or striped, so keeping them costs the hot path
// one plain store to a cache line it already owns.
func (r *Registry[T, I]) Stats() Stats {
	st := Stats{
		CleanupRuns:     r.cleanupRuns.Value(),
		LastCleanup:     time.Duration(r.lastCleanup.Load()),
		MaxCleanup:      time.Duration(r.maxCleanup.Load()),
		EventsDelivered: r.delivered.Load(),
		Pauses:          r.grace.pauses.Load(),
	}
	for i := range r.shards {
		s := &r.shards[i]
		st.Updates += s.stats.updates.load()
		st.Inserts += s.stats.inserts.load()
		st.Removals += s.stats.removals.load()
		st.Expirations += s.stats.expirations.load()
		st.RejectedOutOfOrder += s.stats.rejected.load()
		st.CleanupVisited += s.wheel.visited.load()
		st.CleanupRefiled += s.wheel.refiled.load()
		st.EventsDropped += s.events.dropped.Load()
	}
	return st
}
