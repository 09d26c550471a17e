package heartbeat

import "time"

// WheelWork reports, summed over the shards, how many entries the expiry
// index has visited and, of those, how many it re-filed rather than found
// stale: the cost that CleanupStale and the counts are documented to bound.
func (r *Registry[T, I]) WheelWork() (visited, refiled int) {
	for i := range r.shards {
		s := &r.shards[i]
		s.mu.Lock()
		visited += int(s.wheel.visited.load())
		refiled += int(s.wheel.refiled.load())
		s.mu.Unlock()
	}
	return visited, refiled
}

// WithTicks drives the janitor from ticks instead of a real ticker, and has
// it send on ran after each run, so that tests decide when it runs and know
// when it has finished.
func WithTicks(ticks <-chan time.Time, ran chan<- struct{}) Option {
	return func(c *config) {
		c.ticks = func(time.Duration) (<-chan time.Time, func(), func()) {
			return ticks, func() { ran <- struct{}{} }, func() {}
		}
	}
}
