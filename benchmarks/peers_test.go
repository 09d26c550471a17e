// Package benchmarks compares the registry with Go caches and maps that could
// stand in for it, on the workloads of the root module's bench_test.go and
// under the same sub-benchmark names, so that `benchstat -col /impl` lines
// the implementations up:
//
//	go test -run '^$' -bench . -benchmem -cpu 1,2 -count 6 -timeout 0 > peers.raw
//	benchstat -col /impl peers.raw
//
// It is a module of its own so that the registry does not depend on its
// peers. run.sh runs both suites.
//
// # Staleness
//
// The registry (sharded), the port of the original crate (baseline), the
// bare xsync map and otter judge recency on the benchmarks' fake clock
// (otter through Options.Clock). For CleanupStale and RenewalStall their
// stale items are heartbeats whose deadlines fall just ahead of the clock,
// which then moves past them, as in bench_test.go. Otter's CleanUp only
// reaches an expired entry once its timer wheel ticks, every 2^30 ns
// (about 1.07 s), so for otter the clock moves by 2^30 ns; and otter's
// writes hand maintenance to goroutines of their own, which the setup
// waits for before the clock moves, so that they cannot expire entries
// outside the timed call.
//
// ttlcache and go-cache read the wall clock (time.Now) and take no other.
// They get the items that are to go stale with a TTL of shortTTL (go-cache
// through the per-item duration of Set) and the live ones with an hour's;
// the benchmark then sleeps past shortTTL with the timer stopped, and times
// only the cleanup call. RenewalStall's renewer gives its items an hour's
// TTL too, but the fixture of Update, Get, IsOnline, Mixed and CountOnline
// and their renewals use the 90 s default TTL, so a single sub-benchmark of
// them must stay well under 90 s of wall time.
//
// Every cleanup count is checked: the registry, the baseline and xsync return
// what they removed; for the caches, whose cleanup returns nothing, it is
// the drop in their stored-entry count across the call.
package benchmarks

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
	"github.com/jellydator/ttlcache/v3"
	"github.com/maypok86/otter/v2"
	gocache "github.com/patrickmn/go-cache"
	"github.com/puzpuzpuz/xsync/v3"
)

// timeout is how long a heartbeat keeps an item online, in every
// implementation: the registry's default, the caches' TTL.
const timeout = heartbeat.DefaultTimeout

// shortTTL is the TTL of the items that ttlcache and go-cache must see go
// stale, and wallSlack what ageOut sleeps beyond it, so that the wall clock
// has certainly passed every one of their deadlines. The sleep comes once
// per operation, so it is kept short: it is most of those sub-benchmarks'
// wall time.
const (
	shortTTL  = 10 * time.Millisecond
	wallSlack = 5 * time.Millisecond
)

// benchItem is bench_test.go's 40-byte heartbeat: an ID string and a time,
// available when the lowest bit of the nanoseconds is set.
type benchItem struct {
	id   string
	seen time.Time
}

func (h benchItem) ID() string          { return h.id }
func (h benchItem) Info() benchItem     { return h }
func (h benchItem) IsAvailable() bool   { return h.seen.Nanosecond()&1 == 1 }
func (h benchItem) LastSeen() time.Time { return h.seen }

// peer is what every workload drives: one adapter per implementation.
type peer interface {
	// Update stores h as the latest heartbeat of h.id: a renewal when the
	// ID is stored. On the fake clock h stays online until h.seen+timeout;
	// the wall-clock caches give it their default TTL, timeout from now.
	Update(h benchItem) error
	// Get returns the heartbeat stored under id. The caches hide expired
	// entries, the registry does not; the workloads only ask for online ones.
	Get(id string) (benchItem, bool)
	IsOnline(id string) bool
	CountOnline() int
	// CleanupStale removes every stale entry and returns how many it removed.
	CleanupStale() int
	// Len returns the number of entries held, stale ones not yet removed
	// included.
	Len() int
}

// wallClocked is a peer that judges expiry on the wall clock: the workloads
// make its items stale by giving them a short TTL and sleeping past it.
type wallClocked interface {
	// SetTTL stores h with a TTL of ttl instead of the default.
	SetTTL(h benchItem, ttl time.Duration)
}

// coarseCleanup is a peer on the fake clock whose cleanup only sees what
// went stale once the clock has moved by at least cleanupStep.
type coarseCleanup interface {
	cleanupStep() time.Duration
}

// settler is a peer that leaves work to other goroutines: settle waits
// for that work and finishes it, so that nothing runs behind the
// benchmark's back once the clock moves or the heap is measured.
type settler interface {
	settle()
}

func settle(s peer) {
	if st, ok := s.(settler); ok {
		st.settle()
	}
}

// sharded is the registry on the fake clock.
type sharded struct {
	*heartbeat.Registry[benchItem, benchItem]
}

func (s sharded) Len() int { return s.CountTotal() }

// baseline is bench_test.go's port of the original crate, reduced to what
// the peers' workloads call: one RWMutex around one map, recency judged per
// item, a cleanup that scans everything under the write lock.
type baseline struct {
	mu    sync.RWMutex
	items map[string]benchItem
	clock func() time.Time
}

func newBaseline(clock func() time.Time) *baseline {
	return &baseline{items: map[string]benchItem{}, clock: clock}
}

func recent(h benchItem, now time.Time) bool { return now.Before(h.seen.Add(timeout)) }

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
	return ok && recent(h, now)
}

func (b *baseline) CountOnline() int {
	now := b.clock()
	b.mu.RLock()
	defer b.mu.RUnlock()
	n := 0
	for _, h := range b.items {
		if recent(h, now) {
			n++
		}
	}
	return n
}

func (b *baseline) CleanupStale() int {
	now := b.clock()
	b.mu.Lock()
	defer b.mu.Unlock()
	before := len(b.items)
	for id, h := range b.items {
		if !recent(h, now) {
			delete(b.items, id)
		}
	}
	return before - len(b.items)
}

func (b *baseline) Len() int {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return len(b.items)
}

// otterPeer is an otter cache on the fake clock, with expire-after-write:
// each write gives the entry the time its heartbeat has left, so an entry
// goes stale at seen+timeout, as in the registry, and a renewal moves it.
type otterPeer struct {
	c *otter.Cache[string, benchItem]
	// pending counts the maintenance tasks that otter's writes hand to its
	// executor, which may expire entries on their own goroutines.
	pending *sync.WaitGroup
}

func newOtter(clock *benchClock) otterPeer {
	o := otterPeer{pending: new(sync.WaitGroup)}
	o.c = otter.Must(&otter.Options[string, benchItem]{
		ExpiryCalculator: otter.ExpiryWritingFunc(func(e otter.Entry[string, benchItem]) time.Duration {
			// SnapshotAtNano is the cache's now for this write.
			return time.Duration(e.Value.seen.UnixNano()-e.SnapshotAtNano) + timeout
		}),
		Clock: clock,
		// The default executor's goroutine per task, counted so that settle
		// can wait for them. One difference: otter reschedules a pass that
		// writes left unfinished at once only on its default executor; here
		// the next write or CleanUp picks the rest up.
		Executor: func(fn func()) {
			o.pending.Add(1)
			go func() {
				defer o.pending.Done()
				fn()
			}()
		},
	})
	return o
}

// settle waits for the maintenance tasks under way, then drains what the
// writes left in otter's write buffer, which schedules the new entries in
// its timer wheel. Otherwise a task could run after the clock moves and
// expire entries outside the timed cleanup.
func (o otterPeer) settle() {
	o.pending.Wait()
	o.c.CleanUp()
}

func (o otterPeer) Update(h benchItem) error {
	o.c.Set(h.id, h)
	return nil
}

func (o otterPeer) Get(id string) (benchItem, bool) { return o.c.GetIfPresent(id) }

func (o otterPeer) IsOnline(id string) bool {
	_, ok := o.c.GetIfPresent(id)
	return ok
}

// CountOnline is a full scan: Keys skips expired entries, while
// EstimatedSize counts those not removed yet.
func (o otterPeer) CountOnline() int {
	n := 0
	for range o.c.Keys() {
		n++
	}
	return n
}

func (o otterPeer) CleanupStale() int {
	before := o.c.EstimatedSize()
	o.c.CleanUp()
	return before - o.c.EstimatedSize()
}

func (o otterPeer) Len() int { return o.c.EstimatedSize() }

// cleanupStep is the span of a bucket of the first level of otter's timer
// wheel (internal/expiration/wheel.go): CleanUp sweeps a bucket only once
// the clock has crossed into the next one, so an entry that expired 10 ms
// ago may stay until then.
func (otterPeer) cleanupStep() time.Duration { return 1 << 30 }

// ttlPeer is a ttlcache on the wall clock with a TTL of timeout. Its
// cleanup goroutine is never started (no Start): only CleanupStale
// deletes expired items.
type ttlPeer struct {
	c *ttlcache.Cache[string, benchItem]
}

func newTTLCache() ttlPeer {
	return ttlPeer{ttlcache.New(
		ttlcache.WithTTL[string, benchItem](timeout),
		// By default a Get pushes the item's expiry back, which would keep
		// a silent member online for as long as someone asks about it.
		ttlcache.WithDisableTouchOnHit[string, benchItem](),
	)}
}

func (t ttlPeer) Update(h benchItem) error {
	t.c.Set(h.id, h, ttlcache.DefaultTTL)
	return nil
}

func (t ttlPeer) SetTTL(h benchItem, ttl time.Duration) { t.c.Set(h.id, h, ttl) }

func (t ttlPeer) Get(id string) (benchItem, bool) {
	it := t.c.Get(id)
	if it == nil {
		return benchItem{}, false
	}
	return it.Value(), true
}

func (t ttlPeer) IsOnline(id string) bool { return t.c.Has(id) }

// CountOnline is Len, which counts unexpired items in O(1 + expired): the
// stored count less a walk of the expired top of the expiry heap.
func (t ttlPeer) CountOnline() int { return t.c.Len() }

func (t ttlPeer) CleanupStale() int {
	before := t.Len()
	t.c.DeleteExpired()
	return before - t.Len()
}

// Len is derived from the metrics, since the cache's own Len leaves out
// expired items: every new key is an insertion and every removal an
// eviction.
func (t ttlPeer) Len() int {
	m := t.c.Metrics()
	return int(m.Insertions - m.Evictions)
}

// goCachePeer is a go-cache on the wall clock with a default expiration of
// timeout and no janitor (cleanup interval 0): only CleanupStale deletes
// expired items. Its values are interfaces, so each Set boxes the item.
type goCachePeer struct {
	c *gocache.Cache
}

func newGoCache() goCachePeer { return goCachePeer{gocache.New(timeout, 0)} }

func (g goCachePeer) Update(h benchItem) error {
	g.c.Set(h.id, h, gocache.DefaultExpiration)
	return nil
}

func (g goCachePeer) SetTTL(h benchItem, ttl time.Duration) { g.c.Set(h.id, h, ttl) }

func (g goCachePeer) Get(id string) (benchItem, bool) {
	v, ok := g.c.Get(id)
	if !ok {
		return benchItem{}, false
	}
	return v.(benchItem), true
}

func (g goCachePeer) IsOnline(id string) bool {
	_, ok := g.c.Get(id)
	return ok
}

// CountOnline is a full scan: Items, which copies every unexpired item into
// a new map, is go-cache's only count that leaves expired items out.
func (g goCachePeer) CountOnline() int { return len(g.c.Items()) }

func (g goCachePeer) CleanupStale() int {
	before := g.c.ItemCount()
	g.c.DeleteExpired()
	return before - g.c.ItemCount()
}

func (g goCachePeer) Len() int { return g.c.ItemCount() }

// xsyncPeer is a bare concurrent map on the fake clock: recency is judged
// from the stored heartbeat's time, counts and cleanups are full scans.
type xsyncPeer struct {
	m     *xsync.MapOf[string, benchItem]
	clock func() time.Time
}

func newXsync(clock func() time.Time) xsyncPeer {
	return xsyncPeer{m: xsync.NewMapOf[string, benchItem](), clock: clock}
}

func (x xsyncPeer) Update(h benchItem) error {
	x.m.Store(h.id, h)
	return nil
}

func (x xsyncPeer) Get(id string) (benchItem, bool) { return x.m.Load(id) }

func (x xsyncPeer) IsOnline(id string) bool {
	now := x.clock()
	h, ok := x.m.Load(id)
	return ok && recent(h, now)
}

func (x xsyncPeer) CountOnline() int {
	now := x.clock()
	n := 0
	x.m.Range(func(_ string, h benchItem) bool {
		if recent(h, now) {
			n++
		}
		return true
	})
	return n
}

// CleanupStale deletes while it ranges, which MapOf allows.
func (x xsyncPeer) CleanupStale() int {
	now := x.clock()
	n := 0
	x.m.Range(func(id string, h benchItem) bool {
		if !recent(h, now) {
			x.m.Delete(id)
			n++
		}
		return true
	})
	return n
}

func (x xsyncPeer) Len() int { return x.m.Size() }

// benchClock is a fake clock the benchmarks move by hand.
type benchClock struct{ ns atomic.Int64 }

func (c *benchClock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *benchClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// NowNano and Tick make benchClock an otter.Clock. Tick returns no channel,
// so otter runs no periodic clean-up, as the other caches run no janitor.
func (c *benchClock) NowNano() int64                      { return c.ns.Load() }
func (c *benchClock) Tick(time.Duration) <-chan time.Time { return nil }

var benchStart = time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)

func newBenchClock() *benchClock {
	c := &benchClock{}
	c.ns.Store(benchStart.UnixNano())
	return c
}

var impls = []struct {
	name string
	new  func(c *benchClock) peer
}{
	{"baseline", func(c *benchClock) peer { return newBaseline(c.Now) }},
	{"sharded", func(c *benchClock) peer {
		return sharded{heartbeat.New[benchItem](heartbeat.WithClock(c.Now))}
	}},
	{"otter", func(c *benchClock) peer { return newOtter(c) }},
	{"ttlcache", func(*benchClock) peer { return newTTLCache() }},
	{"gocache", func(*benchClock) peer { return newGoCache() }},
	{"xsync", func(c *benchClock) peer { return newXsync(c.Now) }},
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
// last 5 s, every 100th available, shared by the read-only and renewal
// workloads as in bench_test.go.
type fixture struct {
	s     peer
	items []benchItem
}

var fixtures = map[string]*fixture{}

// dropFixtures frees the fixture alive, if any: 10^6 items in a cache can
// take hundreds of MB.
func dropFixtures() {
	clear(fixtures)
	runtime.GC()
}

func getFixture(b *testing.B, impl int, n int) *fixture {
	key := fmt.Sprint(impls[impl].name, n)
	if f, ok := fixtures[key]; ok {
		return f
	}
	dropFixtures()
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
	f.s.CleanupStale() // as a janitor would have
	settle(f.s)
	fixtures[key] = f
	return f
}

// liveWriter returns how to store a heartbeat that stays online for the
// whole benchmark: Update with a heartbeat sent an hour ahead on the fake
// clock, a TTL of an hour on the wall clock.
func liveWriter(s peer) func(h benchItem) error {
	if w, ok := s.(wallClocked); ok {
		return func(h benchItem) error {
			w.SetTTL(h, time.Hour)
			return nil
		}
	}
	return s.Update
}

// ageOut stores a heartbeat for each of keys such that all of them, and
// nothing else, are stale when it returns; the caller stops the timer.
//
// On the fake clock their deadlines are spread over the next spread; once
// the peer has settled, the clock moves by step, or by the peer's cleanup
// step if that is longer. A wall-clock cache gets them with shortTTL, and
// ageOut sleeps past it.
func ageOut(b *testing.B, s peer, c *benchClock, keys []string, spread, step time.Duration) {
	if w, ok := s.(wallClocked); ok {
		for _, id := range keys {
			w.SetTTL(benchItem{id: id, seen: c.Now()}, shortTTL)
		}
		time.Sleep(shortTTL + wallSlack)
		return
	}
	now := c.Now().Sub(benchStart)
	for j, id := range keys {
		seen := at(now-timeout+spread*time.Duration(j+1)/time.Duration(len(keys)), false)
		if err := s.Update(benchItem{id: id, seen: seen}); err != nil {
			b.Fatal(err)
		}
	}
	settle(s)
	if cc, ok := s.(coarseCleanup); ok {
		step = max(step, cc.cleanupStep())
	}
	c.Advance(step)
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

// BenchmarkCountOnline counts a fleet with nothing stale. Only the registry
// (O(shards)) and ttlcache (O(1 + expired)) count without a scan; the
// others visit every entry (see each adapter's CountOnline).
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

// BenchmarkCleanupStale removes 10 000 stale items from n stored ones per
// operation; ns/expired is the cost per removed item. Only the cleanup call
// is timed: see ageOut for how each implementation's items go stale.
func BenchmarkCleanupStale(b *testing.B) {
	const stale = 10_000
	forEach(b, sizes, func(b *testing.B, impl int, n int) {
		dropFixtures()
		c := newBenchClock()
		s := impls[impl].new(c)
		live := liveWriter(s)
		all := ids(n)
		for _, id := range all[stale:] {
			if err := live(benchItem{id: id, seen: at(time.Hour, false)}); err != nil {
				b.Fatal(err)
			}
		}
		s.CleanupStale()
		b.ResetTimer()
		for range b.N {
			b.StopTimer()
			ageOut(b, s, c, all[:stale], 10*time.Millisecond, 10*time.Millisecond)
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
		dropFixtures()
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
			settle(s)
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
// while the cleanup ran; cleanup=none is the same renewer with no cleanup
// call, the floor set by the machine, the runtime and, for otter, the
// maintenance that its writes start on other goroutines.
func BenchmarkRenewalStall(b *testing.B) {
	const n, stale = 1_000_000, 100_000
	for impl := range impls {
		for _, mode := range []string{"none", "full"} {
			b.Run(fmt.Sprintf("impl=%s/n=%d/cleanup=%s", impls[impl].name, n, mode), func(b *testing.B) {
				dropFixtures()
				c := newBenchClock()
				s := impls[impl].new(c)
				live := liveWriter(s)
				all := ids(n)
				for _, id := range all[stale:] {
					if err := live(benchItem{id: id, seen: at(time.Hour, false)}); err != nil {
						b.Fatal(err)
					}
				}
				s.CleanupStale()
				var lat []time.Duration
				buf := make([]time.Duration, 0, 1<<22)
				b.ResetTimer()
				for range b.N {
					b.StopTimer()
					ageOut(b, s, c, all[:stale], 100*time.Millisecond, time.Second)
					before := s.Len()
					runtime.GC()
					b.StartTimer()

					var stop atomic.Bool
					var wg sync.WaitGroup
					wg.Add(1)
					buf = buf[:0]
					go func() {
						defer wg.Done()
						r := newRng()
						keys := all[stale:]
						for !stop.Load() && len(buf) < cap(buf) {
							h := benchItem{id: keys[r.intn(len(keys))], seen: at(time.Hour, false)}
							t0 := time.Now()
							_ = live(h)
							buf = append(buf, time.Since(t0))
						}
					}()
					if mode == "full" {
						s.CleanupStale()
					} else {
						time.Sleep(time.Millisecond) // about as long as the sharded cleanup
					}
					stop.Store(true)
					wg.Wait()
					lat = append(lat, buf...)
					if mode == "full" {
						// Counted over the window rather than by the call:
						// otter's renewals start maintenance that may expire
						// entries before its CleanUp does.
						if removed := before - s.Len(); removed != stale {
							b.Errorf("removed %d, want %d", removed, stale)
						}
					} else {
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
