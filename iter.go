package heartbeat

import "iter"

// iterBatch is how many items an iterator copies out per hold of a shard's
// lock: the loop body then runs with no lock held.
const iterBatch = 64

// All returns an iterator over every stored item, stale ones included, as
// (ID, heartbeat) pairs, shard by shard.
//
// The iterators are weakly consistent. All and Online see an item stored for
// the whole loop exactly once; one added, removed or changed during the loop
// may be seen or not. Available walks the shards' available lists, which
// other items' availability changes may reorder: while availability changes
// concurrently it may miss or repeat an item. They copy up to 64 items per
// hold of a shard's
// lock and run the loop body with no lock held, so the body may call the
// registry. Cost: O(n) for All and Online, O(available + shards) for
// Available (the lists hold at most twice the available items); each loop
// allocates one buffer of 64 items, nothing per item.
func (r *Registry[T, I]) All() iter.Seq2[string, T] {
	return r.iterate(false, false)
}

// Online returns an iterator over the items online now (at the moment the
// loop starts). See All.
func (r *Registry[T, I]) Online() iter.Seq2[string, T] {
	return r.iterate(true, false)
}

// Available returns an iterator over the items online and available now
// (at the moment the loop starts). Breaking out of the loop early costs only
// what was visited: asking for one available worker of 10^6 is O(shards)
// at worst. See All.
func (r *Registry[T, I]) Available() iter.Seq2[string, T] {
	return r.iterate(true, true)
}

type keyed[T any] struct {
	key  string
	item T
}

func (r *Registry[T, I]) iterate(onlineOnly, availableOnly bool) iter.Seq2[string, T] {
	return func(yield func(string, T) bool) {
		_, expiry := r.times()
		buf := make([]keyed[T], 0, iterBatch)
		for i := range r.shards {
			s := &r.shards[i]
			for pos := 0; ; {
				buf = buf[:0]
				s.lock()
				end := int(s.nodes.used)
				if availableOnly {
					end = len(s.availList)
				}
				for ; pos < end && len(buf) < iterBatch; pos++ {
					j := int32(pos)
					if availableOnly {
						j = s.availList[pos]
					}
					n := s.nodes.at(j)
					if n.bucket() != noBucket && (!availableOnly || n.available()) && (!onlineOnly || n.deadline > expiry) {
						buf = append(buf, keyed[T]{n.key, n.item})
					}
				}
				s.mu.Unlock()
				for _, kv := range buf {
					if !yield(kv.key, kv.item) {
						return
					}
				}
				if pos >= end {
					break
				}
			}
		}
	}
}

// PickAvailable returns an item online and available now for which match
// returns true (nil matches any), and whether there was one. Successive
// calls start at successive shards and at successive places in each
// shard's available list, so picks spread over the fleet rather than
// always landing on the same few items. match runs with no lock held.
// Cost: what it visits before a match (the shards, and the entries of
// their available lists it passes over); no allocation.
func (r *Registry[T, I]) PickAvailable(match func(T) bool) (T, bool) {
	_, expiry := r.times()
	start := int(r.pickFrom.Add(1))
	var buf [iterBatch]T
	for k := range r.shards {
		s := &r.shards[(start+k)&int(r.mask)]
		for done := 0; ; {
			n := 0
			s.lock()
			size := len(s.availList)
			for ; done < size && n < iterBatch; done++ {
				if nd := s.nodes.at(s.availList[(start+done)%size]); nd.available() && nd.deadline > expiry {
					buf[n] = nd.item
					n++
				}
			}
			more := done < size
			s.mu.Unlock()
			for _, item := range buf[:n] {
				if match == nil || match(item) {
					return item, true
				}
			}
			if !more {
				break
			}
		}
	}
	var zero T
	return zero, false
}
