package heartbeat_test

import (
	"fmt"
	"math/bits"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/heartbeat-registry/heartbeat"
)

// The benchmarks run every workload on the registry (impl=sharded) and on a
// faithful port of the original crate's design (impl=baseline) in the same
// run, named so that `benchstat -col /impl` lines them up:
//
//	go test -run '^$' -bench . -benchmem -cpu 1,2 -count 6 > new.txt
//	benchstat -col /impl new.txt

// benchItem is the 40-byte heartbeat of the targets table: an ID string and
// a time. Availability is the lowest bit of the timestamp's nanoseconds, so
// that the item stays 40 bytes.
type benchItem struct {
	id   string
	seen time.Time
}

func (h benchItem) ID() string          { return h.id }
func (h benchItem) Info() benchItem     { return h }
func (h benchItem) IsAvailable() bool   { return h.seen.Nanosecond()&1 == 1 }
func (h benchItem) LastSeen() time.Time { return h.seen }

// baseline is the original crate's HeartbeatRegistry in Go: one RWMutex
// around one map, recency judged per item on every query, and a cleanup
// that scans everything under the write lock. It reads the clock once per
// call, as the registry does, so that only the data structure differs.
type baseline struct {
	mu      sync.RWMutex
	items   map[string]benchItem
	timeout time.Duration
	clock   func() time.Time
}

func newBaseline(timeout time.Duration, clock func() time.Time) *baseline {
	return &baseline{items: map[string]benchItem{}, timeout: timeout, clock: clock}
}

func (b *baseline) recent(h benchItem, now time.Time) bool { return now.Before(h.seen.Add(b.timeout)) }

func (b *baseline) Update(h benchItem) error {
	b.mu.Lock()
	b.items[h.id] = h
	b.mu.Unlock()
	return nil
}

func (b *baseline) Get(id string) (benchItem, bool) {
	b.mu.RLock()
	h, ok := b.items[id]
	b.mu.RUnlock()
	return h, ok
}

func (b *baseline) IsOnline(id string) bool {
	now := b.clock()
	b.mu.RLock()
	h, ok := b.items[id]
	b.mu.RUnlock()
	return ok && b.recent(h, now)
}

func (b *baseline) count(availableOnly bool) int {
	now := b.clock()
	b.mu.RLock()
	defer b.mu.RUnlock()
	n := 0
	for _, h := range b.items {
		if b.recent(h, now) && (!availableOnly || h.IsAvailable()) {
			n++
		}
	}
	return n
}

func (b *baseline) CountOnline() int    { return b.count(false) }
func (b *baseline) CountAvailable() int { return b.count(true) }

func (b *baseline) ListAvailable() []benchItem {
	now := b.clock()
	b.mu.RLock()
	defer b.mu.RUnlock()
	var out []benchItem
	for _, h := range b.items {
		if b.recent(h, now) && h.IsAvailable() {
			out = append(out, h)
		}
	}
	return out
}

func (b *baseline) CleanupStale() int {
	now := b.clock()
	b.mu.Lock()
	defer b.mu.Unlock()
	before := len(b.items)
	for id, h := range b.items {
		if !b.recent(h, now) {
			delete(b.items, id)
		}
	}
	return before - len(b.items)
}

// store is what every workload drives.
type store interface {
	Update(benchItem) error
	Get(id string) (benchItem, bool)
	IsOnline(id string) bool
	CountOnline() int
	CountAvailable() int
	ListAvailable() []benchItem
	CleanupStale() int
}

// benchClock is a fake clock the benchmarks move by hand.
type benchClock struct{ ns atomic.Int64 }

func (c *benchClock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *benchClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

var benchStart = time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)

func newBenchClock() *benchClock {
	c := &benchClock{}
	c.ns.Store(benchStart.UnixNano())
	return c
}

var impls = []struct {
	name string
	new  func(c *benchClock) store
}{
	{"baseline", func(c *benchClock) store { return newBaseline(heartbeat.DefaultTimeout, c.Now) }},
	{"sharded", func(c *benchClock) store {
		return heartbeat.New[benchItem](heartbeat.WithClock(c.Now))
	}},
}

// ids returns n distinct IDs of realistic length, built once per size.
var idCache sync.Map

func ids(n int) []string {
	if v, ok := idCache.Load(n); ok {
		return v.([]string)
	}
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("worker-%08d", i)
	}
	idCache.Store(n, out)
	return out
}

// at returns a timestamp at d from the clock's start, available or not.
func at(d time.Duration, available bool) time.Time {
	t := benchStart.Add(d).Truncate(2)
	if available {
		t = t.Add(1)
	}
	return t
}

// fixture is a store filled with n online items, heartbeats sent over the
// last 5 s, every 100th available. Read-only and renewal workloads share
// it: rebuilding 10^6 items for every sub-benchmark would dominate the run.
type fixture struct {
	s     store
	items []benchItem
}

var fixtures = map[string]*fixture{}

func getFixture(b *testing.B, impl int, n int) *fixture {
	key := fmt.Sprint(impls[impl].name, n)
	if f, ok := fixtures[key]; ok {
		return f
	}
	clear(fixtures) // keep one fixture alive at a time: 10^6 items is 100+ MB
	runtime.GC()
	b.StopTimer()
	defer b.StartTimer()
	c := newBenchClock()
	f := &fixture{s: impls[impl].new(c), items: make([]benchItem, n)}
	for i, id := range ids(n) {
		f.items[i] = benchItem{id: id, seen: at(-time.Duration(i%5000)*time.Millisecond, i%100 == 0)}
		if err := f.s.Update(f.items[i]); err != nil {
			b.Fatal(err)
		}
	}
	f.s.CleanupStale() // brings the wheel to now, as a janitor would have
	fixtures[key] = f
	runtime.GC() // so that no collection started by the build runs during the timing
	return f
}

// rng is a xorshift generator: a few ns per key, no shared state.
type rng uint64

func (r *rng) next() uint64 {
	*r ^= *r << 13
	*r ^= *r >> 7
	*r ^= *r << 17
	return uint64(*r)
}

// intn returns a uniform index below n (Lemire's multiply-shift).
func (r *rng) intn(n int) int {
	hi, _ := bits.Mul64(r.next(), uint64(n))
	return int(hi)
}

var seed atomic.Uint64

func newRng() rng { return rng(seed.Add(0x9E3779B97F4A7C15) | 1) }

var sizes = []int{100_000, 1_000_000}

func forEach(b *testing.B, sizes []int, run func(b *testing.B, impl int, n int)) {
	for impl := range impls {
		for _, n := range sizes {
			b.Run(fmt.Sprintf("impl=%s/n=%d", impls[impl].name, n), func(b *testing.B) {
				b.ReportAllocs()
				run(b, impl, n)
			})
		}
	}
}

// BenchmarkUpdate renews existing IDs, uniformly at random, from every P.
func BenchmarkUpdate(b *testing.B) {
	forEach(b, sizes, func(b *testing.B, impl int, n int) {
		f := getFixture(b, impl, n)
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			r := newRng()
			for pb.Next() {
				if err := f.s.Update(f.items[r.intn(n)]); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

func BenchmarkGet(b *testing.B) {
	forEach(b, sizes, func(b *testing.B, impl int, n int) {
		f := getFixture(b, impl, n)
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			r := newRng()
			for pb.Next() {
				if _, ok := f.s.Get(f.items[r.intn(n)].id); !ok {
					b.Error("missing")
					return
				}
			}
		})
	})
}

func BenchmarkIsOnline(b *testing.B) {
	forEach(b, sizes, func(b *testing.B, impl int, n int) {
		f := getFixture(b, impl, n)
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			r := newRng()
			for pb.Next() {
				if !f.s.IsOnline(f.items[r.intn(n)].id) {
					b.Error("offline")
					return
				}
			}
		})
	})
}

// BenchmarkMixed is 90 % renewals and 10 % Get.
func BenchmarkMixed(b *testing.B) {
	forEach(b, sizes, func(b *testing.B, impl int, n int) {
		f := getFixture(b, impl, n)
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			r := newRng()
			for pb.Next() {
				k := r.intn(n)
				if k%10 == 0 {
					f.s.Get(f.items[k].id)
				} else if err := f.s.Update(f.items[k]); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

func BenchmarkCountOnline(b *testing.B) {
	forEach(b, sizes, func(b *testing.B, impl int, n int) {
		f := getFixture(b, impl, n)
		b.ResetTimer()
		for range b.N {
			if f.s.CountOnline() != n {
				b.Fatal("wrong count")
			}
		}
	})
}

func BenchmarkCountAvailable(b *testing.B) {
	forEach(b, sizes, func(b *testing.B, impl int, n int) {
		f := getFixture(b, impl, n)
		b.ResetTimer()
		for range b.N {
			if f.s.CountAvailable() != n/100 {
				b.Fatal("wrong count")
			}
		}
	})
}

// BenchmarkListAvailable lists the 1 % of the fleet that is available.
func BenchmarkListAvailable(b *testing.B) {
	forEach(b, sizes, func(b *testing.B, impl int, n int) {
		f := getFixture(b, impl, n)
		b.ResetTimer()
		for range b.N {
			if len(f.s.ListAvailable()) != n/100 {
				b.Fatal("wrong list")
			}
		}
	})
}

// BenchmarkCleanupStale removes 10 000 stale items from n stored ones per
// operation; ns/expired is the cost per removed item. Each operation's stale
// items are heartbeats whose deadline falls in the 10 ms the clock then
// moves, the steady state of a janitor; the rest stay online throughout.
func BenchmarkCleanupStale(b *testing.B) {
	const stale = 10_000
	forEach(b, []int{100_000, 1_000_000}, func(b *testing.B, impl int, n int) {
		c := newBenchClock()
		s := impls[impl].new(c)
		all := ids(n)
		for _, id := range all[stale:] {
			if err := s.Update(benchItem{id: id, seen: at(time.Hour, false)}); err != nil {
				b.Fatal(err)
			}
		}
		s.CleanupStale()
		b.ResetTimer()
		for i := range b.N {
			b.StopTimer()
			// Deadlines spread over the next 10 ms.
			base := time.Duration(i) * 10 * time.Millisecond
			for j, id := range all[:stale] {
				seen := at(base-heartbeat.DefaultTimeout+time.Duration(j)*time.Microsecond+1, false)
				if err := s.Update(benchItem{id: id, seen: seen}); err != nil {
					b.Fatal(err)
				}
			}
			c.Advance(10 * time.Millisecond)
			b.StartTimer()
			if got := s.CleanupStale(); got != stale {
				b.Fatalf("removed %d, want %d", got, stale)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*stale), "ns/expired")
	})
}

// BenchmarkMemory reports the heap that n stored items cost, per item, with
// the ID strings (allocated before the first reading) excluded.
func BenchmarkMemory(b *testing.B) {
	forEach(b, []int{1_000_000}, func(b *testing.B, impl int, n int) {
		clear(fixtures)
		all := ids(n)
		var perItem float64
		for range b.N {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			s := impls[impl].new(newBenchClock())
			for i, id := range all {
				if err := s.Update(benchItem{id: id, seen: at(-time.Duration(i%5000)*time.Millisecond, i%100 == 0)}); err != nil {
					b.Fatal(err)
				}
			}
			runtime.GC()
			runtime.ReadMemStats(&after)
			perItem = float64(after.HeapAlloc-before.HeapAlloc) / float64(n)
			runtime.KeepAlive(s)
		}
		b.ReportMetric(perItem, "B/item")
	})
}

// BenchmarkRenewalStall measures what a scheduler feels during a cleanup:
// one goroutine renews live items back to back while another removes
// 100 000 stale items of 10^6. It reports the renewals' latency percentiles
// while the cleanup ran; cleanup=none is the same renewer with no cleanup,
// the floor set by the machine and the runtime.
func BenchmarkRenewalStall(b *testing.B) {
	const n, stale = 1_000_000, 100_000
	for impl := range impls {
		for _, mode := range []string{"none", "full"} {
			b.Run(fmt.Sprintf("impl=%s/n=%d/cleanup=%s", impls[impl].name, n, mode), func(b *testing.B) {
				clear(fixtures)
				c := newBenchClock()
				s := impls[impl].new(c)
				all := ids(n)
				for _, id := range all[stale:] {
					if err := s.Update(benchItem{id: id, seen: at(time.Hour, false)}); err != nil {
						b.Fatal(err)
					}
				}
				s.CleanupStale()
				var lat []time.Duration
				buf := make([]time.Duration, 0, 1<<22)
				b.ResetTimer()
				for i := range b.N {
					b.StopTimer()
					base := time.Duration(i) * time.Second
					for j, id := range all[:stale] {
						seen := at(base-heartbeat.DefaultTimeout+time.Duration(j)*time.Microsecond, false)
						if err := s.Update(benchItem{id: id, seen: seen}); err != nil {
							b.Fatal(err)
						}
					}
					c.Advance(time.Second)
					runtime.GC()
					b.StartTimer()

					var stop atomic.Bool
					var wg sync.WaitGroup
					wg.Add(1)
					buf = buf[:0]
					go func() {
						defer wg.Done()
						r := newRng()
						live := all[stale:]
						for !stop.Load() && len(buf) < cap(buf) {
							h := benchItem{id: live[r.intn(len(live))], seen: at(time.Hour, false)}
							t0 := time.Now()
							_ = s.Update(h)
							buf = append(buf, time.Since(t0))
						}
					}()
					if mode == "full" {
						if got := s.CleanupStale(); got != stale {
							b.Errorf("removed %d, want %d", got, stale)
						}
					} else {
						time.Sleep(20 * time.Millisecond) // as long as the sharded cleanup: the same exposure to the host's noise
					}
					stop.Store(true)
					wg.Wait()
					lat = append(lat, buf...)
					if mode == "none" {
						s.CleanupStale()
					}
				}
				b.StopTimer()
				if len(lat) == 0 {
					return
				}
				slices.Sort(lat)
				q := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Nanoseconds()) }
				b.ReportMetric(q(0.50), "p50-ns")
				b.ReportMetric(q(0.99), "p99-ns")
				b.ReportMetric(q(0.999), "p99.9-ns")
				b.ReportMetric(float64(lat[len(lat)-1].Nanoseconds()), "max-ns")
			})
		}
	}
}

// pick returns an available online item without building a list: the
// baseline ranges over its map until it meets one.
func (b *baseline) pick() (benchItem, bool) {
	now := b.clock()
	b.mu.RLock()
	defer b.mu.RUnlock()
	for _, h := range b.items {
		if b.recent(h, now) && h.IsAvailable() {
			return h, true
		}
	}
	return benchItem{}, false
}

// BenchmarkPickAvailable answers a scheduler's most common question, "give
// me an available worker", where 1 % of the fleet is available.
func BenchmarkPickAvailable(b *testing.B) {
	forEach(b, []int{1_000_000}, func(b *testing.B, impl int, n int) {
		f := getFixture(b, impl, n)
		pick := func() bool { _, ok := f.s.(*baseline).pick(); return ok }
		if reg, ok := f.s.(*heartbeat.Registry[benchItem, benchItem]); ok {
			pick = func() bool { _, ok := reg.PickAvailable(nil); return ok }
		}
		b.ResetTimer()
		for range b.N {
			if !pick() {
				b.Fatal("none available")
			}
		}
	})
}

// BenchmarkUpdateEvents measures what events cost a writer: every update
// flips an item's availability, one event each. handler=none has no
// handler (no event is made); handler=counting delivers each to a handler
// that counts it.
func BenchmarkUpdateEvents(b *testing.B) {
	const n = 100_000
	for _, handler := range []string{"none", "counting"} {
		b.Run(fmt.Sprintf("handler=%s/n=%d", handler, n), func(b *testing.B) {
			b.ReportAllocs()
			c := newBenchClock()
			opts := []heartbeat.Option{heartbeat.WithClock(c.Now)}
			var delivered atomic.Int64
			if handler == "counting" {
				opts = append(opts, heartbeat.WithEvents(func(heartbeat.Event) { delivered.Add(1) }))
			}
			r := heartbeat.New[benchItem](opts...)
			defer r.Close()
			// Two heartbeats per ID, one available and one not.
			flips := make([][2]benchItem, n)
			for i, id := range ids(n) {
				flips[i] = [2]benchItem{{id, at(0, false)}, {id, at(0, true)}}
				if err := r.Update(flips[i][0]); err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				rn := newRng()
				for pb.Next() {
					k := rn.next()
					if err := r.Update(flips[int(k>>1)%n][k&1]); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.StopTimer()
			if handler == "counting" {
				st := r.Stats()
				b.ReportMetric(float64(st.EventsDropped)/float64(b.N), "dropped/op")
			}
		})
	}
}
