package heartbeat

// WheelWork reports, summed over the shards, how many entries the expiry
// index has visited and, of those, how many it re-filed rather than found
// stale: the cost that CleanupStale and the counts are documented to bound.
func (r *Registry[T, I]) WheelWork() (visited, refiled int) {
	for i := range r.shards {
		s := &r.shards[i]
		s.mu.Lock()
		visited += s.wheel.visited
		refiled += s.wheel.refiled
		s.mu.Unlock()
	}
	return visited, refiled
}
