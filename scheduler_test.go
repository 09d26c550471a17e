package heartbeat_test

import (
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/heartbeat-registry/heartbeat"
)

// Tests of what schedulers use every day: the janitor, events, per-item
// timeouts, iterators, stats, the pause grace and out-of-order rejection.

// recorder is an event handler that keeps what it is given.
type recorder struct {
	mu     sync.Mutex
	events []heartbeat.Event
}

func (rec *recorder) handle(e heartbeat.Event) {
	rec.mu.Lock()
	rec.events = append(rec.events, e)
	rec.mu.Unlock()
}

func (rec *recorder) of(id string) []heartbeat.EventKind {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	var out []heartbeat.EventKind
	for _, e := range rec.events {
		if e.ID == id {
			out = append(out, e.Kind)
		}
	}
	return out
}

// janitorTicks drives a registry's janitor by hand (heartbeat.WithTicks).
type janitorTicks struct {
	tick chan time.Time
	ran  chan struct{}
}

func newTicks() janitorTicks {
	return janitorTicks{make(chan time.Time), make(chan struct{})}
}

func (j janitorTicks) option() heartbeat.Option { return heartbeat.WithTicks(j.tick, j.ran) }

// tick makes the janitor run one cleanup and returns when it has finished.
func tick(j janitorTicks) {
	j.tick <- time.Time{}
	<-j.ran
}

func TestJanitorRemovesStaleItems(t *testing.T) {
	c := newClock()
	ticks := newTicks()
	r := newRegistry(c, heartbeat.WithCleanupInterval(time.Second), ticks.option())
	defer r.Close()
	require.NoError(t, r.Update(recent(c, "w1", true)))
	require.NoError(t, r.Update(old(c, "w2", true)))
	tick(ticks)
	require.Equal(t, 1, r.CountTotal())
	// The janitor runs every second as the time goes by (a longer silence
	// would be a pause, see TestPauseGrace).
	for range heartbeat.DefaultTimeout / time.Second {
		c.Advance(time.Second)
		tick(ticks)
	}
	require.Equal(t, 0, r.CountTotal())
	require.GreaterOrEqual(t, r.Stats().CleanupRuns, int64(90))
	require.Equal(t, int64(0), r.Stats().Pauses)
}

// registryGoroutines counts the goroutines running a registry's janitor or
// event dispatcher.
func registryGoroutines() int {
	buf := make([]byte, 1<<20)
	stacks := string(buf[:runtime.Stack(buf, true)])
	return strings.Count(stacks, ").janitor(") + strings.Count(stacks, ").dispatch(")
}

func TestCloseStopsEveryGoroutineAndIsIdempotent(t *testing.T) {
	gone := func() bool { return registryGoroutines() == 0 }
	require.Eventually(t, gone, 5*time.Second, time.Millisecond, "earlier tests closed theirs")
	r := heartbeat.New[testHeartbeat]()
	require.Zero(t, registryGoroutines(), "no options, no goroutine")
	require.NoError(t, r.Close())

	r = heartbeat.New[testHeartbeat](heartbeat.WithCleanupInterval(time.Millisecond), heartbeat.WithEvents(func(heartbeat.Event) {}))
	defer r.Close()
	require.Eventually(t, func() bool { return registryGoroutines() == 2 }, 5*time.Second, time.Millisecond,
		"a janitor and a dispatcher")
	require.NoError(t, r.Update(testHeartbeat{id: "w", ts: time.Now(), available: true}))
	require.NoError(t, r.Close())
	require.NoError(t, r.Close())
	// Close waits until both have returned from their loops; the goroutines
	// then take a moment more to be gone.
	require.Eventually(t, gone, 5*time.Second, time.Millisecond, "no goroutine left behind")
	require.NoError(t, r.Update(testHeartbeat{id: "w", ts: time.Now()}), "usable after Close")
	require.Equal(t, 1, r.CountOnline())
}

func TestEventsOfOneItem(t *testing.T) {
	c := newClock()
	rec := &recorder{}
	r := newRegistry(c, heartbeat.WithEvents(rec.handle))
	require.NoError(t, r.Update(recent(c, "w", true)))                                 // online, available
	require.NoError(t, r.Update(recent(c, "w", true)))                                 // a plain renewal: nothing
	require.NoError(t, r.Update(recent(c, "w", false)))                                // unavailable
	require.NoError(t, r.Update(testHeartbeat{id: "late", ts: epoch.Add(-time.Hour)})) // stale on arrival: nothing
	c.Advance(heartbeat.DefaultTimeout)
	require.Equal(t, 0, r.CountOnline())               // stale, found by the count
	require.NoError(t, r.Update(recent(c, "w", true))) // back online, available
	c.Advance(heartbeat.DefaultTimeout)
	require.Equal(t, 2, r.CleanupStale()) // stale, expired
	require.NoError(t, r.Update(recent(c, "w", false)))
	require.True(t, r.Remove("w"))
	require.NoError(t, r.Close()) // delivers what is queued

	assert.Equal(t, []heartbeat.EventKind{
		heartbeat.EventOnline, heartbeat.EventAvailable,
		heartbeat.EventUnavailable,
		heartbeat.EventStale,
		heartbeat.EventOnline, heartbeat.EventAvailable,
		heartbeat.EventStale, heartbeat.EventExpired,
		heartbeat.EventOnline,
		heartbeat.EventRemoved,
	}, rec.of("w"))
	assert.Equal(t, []heartbeat.EventKind{heartbeat.EventExpired}, rec.of("late"))
	assert.Equal(t, "stale", heartbeat.EventStale.String())
}

func TestStaleEventFiresWithinOneJanitorInterval(t *testing.T) {
	c := newClock()
	ticks := newTicks()
	rec := &recorder{}
	r := newRegistry(c, heartbeat.WithTimeout(10*time.Second), heartbeat.WithCleanupInterval(time.Second),
		ticks.option(), heartbeat.WithEvents(rec.handle))
	require.NoError(t, r.Update(recent(c, "w", false)))
	for range 9 {
		c.Advance(time.Second)
		tick(ticks)
	}
	c.Advance(time.Second - 1)
	tick(ticks)
	require.Equal(t, int64(0), r.Stats().Expirations, "1 ns before the deadline")
	c.Advance(time.Second) // the deadline passed during this interval
	tick(ticks)
	require.Equal(t, int64(1), r.Stats().Expirations, "found stale, and removed, by the next run")
	require.NoError(t, r.Close())
	require.Equal(t, []heartbeat.EventKind{heartbeat.EventOnline, heartbeat.EventStale, heartbeat.EventExpired}, rec.of("w"))
}

func TestEventHandlerMayCallTheRegistry(t *testing.T) {
	c := newClock()
	var r *registry
	done := make(chan struct{})
	var once sync.Once
	r = newRegistry(c, heartbeat.WithEvents(func(e heartbeat.Event) {
		// Every method, from inside the handler: none may deadlock.
		r.Get(e.ID)
		r.IsOnline(e.ID)
		r.CountOnline()
		r.ListAvailable()
		r.CleanupStale()
		if e.ID == "w" && e.Kind == heartbeat.EventOnline {
			_ = r.Update(recent(c, "from-handler", true))
		}
		if e.ID == "from-handler" {
			once.Do(func() { close(done) })
		}
	}))
	require.NoError(t, r.Update(recent(c, "w", true)))
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the handler's own update never came back as an event: deadlock")
	}
	require.NoError(t, r.Close())
}

func TestSlowHandlerNeverBlocksUpdate(t *testing.T) {
	c := newClock()
	release := make(chan struct{})
	r := newRegistry(c, heartbeat.WithShards(1), heartbeat.WithEventBuffer(8),
		heartbeat.WithEvents(func(heartbeat.Event) { <-release }))
	for i := range 1000 { // each flip of availability is an event
		require.NoError(t, r.Update(recent(c, "w", i%2 == 0)))
	}
	st := r.Stats()
	require.Greater(t, st.EventsDropped, int64(900), "dropped, counted, and Update went on")
	close(release)
	require.NoError(t, r.Close())
	st = r.Stats()
	require.Equal(t, int64(1001), st.EventsDelivered+st.EventsDropped, "online, then 1000 flips")
}

// A mass expiry makes far more events than the buffer holds; the dispatcher
// drains while the cleanup goes on (it is woken between batches), so a fast
// handler loses few of them, where waking it only at the end would lose
// all but a buffer's worth.
func TestMassExpiryEventsAreDrainedAsTheyCome(t *testing.T) {
	c := newClock()
	r := newRegistry(c, heartbeat.WithShards(1), heartbeat.WithEventBuffer(4096),
		heartbeat.WithEvents(func(heartbeat.Event) {}))
	defer r.Close()
	const n = 20000 // 40 000 events on expiry: ten buffers' worth
	for i := range n {
		require.NoError(t, r.Update(testHeartbeat{id: fmt.Sprint("w", i), ts: c.Now()}))
	}
	// The inserts' events overflow too (writers never wait): let them go.
	require.Eventually(t, func() bool { st := r.Stats(); return st.EventsDelivered+st.EventsDropped == n }, 10*time.Second, time.Millisecond)
	before := r.Stats()
	c.Advance(heartbeat.DefaultTimeout)
	require.Equal(t, n, r.CleanupStale())
	require.NoError(t, r.Close())
	st := r.Stats()
	require.Equal(t, int64(2*n), st.EventsDelivered+st.EventsDropped-before.EventsDelivered-before.EventsDropped,
		"a Stale and an Expired per item")
	require.Greater(t, st.EventsDelivered-before.EventsDelivered, int64(n), "most delivered, not one buffer's worth")
}

func TestEventsOfEachIDArriveInOrder(t *testing.T) {
	c := newClock()
	rec := &recorder{}
	r := newRegistry(c, heartbeat.WithShards(4), heartbeat.WithEventBuffer(1<<20), heartbeat.WithEvents(rec.handle))
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := fmt.Sprint("w", g)
			for i := range 500 {
				_ = r.Update(recent(c, id, i%2 == 0))
			}
		}()
	}
	wg.Wait()
	require.NoError(t, r.Close())
	for g := range 8 {
		kinds := rec.of(fmt.Sprint("w", g))
		require.Len(t, kinds, 501)
		require.Equal(t, heartbeat.EventOnline, kinds[0])
		for i, k := range kinds[1:] {
			want := heartbeat.EventAvailable
			if i%2 == 1 {
				want = heartbeat.EventUnavailable
			}
			require.Equal(t, want, k, "event %d of w%d", i+1, g)
		}
	}
}

// shortLived is a heartbeat with its own timeout.
type shortLived struct {
	testHeartbeat
	ttl time.Duration
}

func (h shortLived) Timeout() time.Duration { return h.ttl }

func TestPerItemTimeouts(t *testing.T) {
	c := newClock()
	r := heartbeat.New[shortLived](heartbeat.WithClock(c.Now))
	for i := range 100 {
		ttl := time.Second
		if i%2 == 0 {
			ttl = time.Hour
		}
		require.NoError(t, r.Update(shortLived{recent(c, fmt.Sprint("w", i), true), ttl}))
	}
	require.NoError(t, r.Update(shortLived{recent(c, "default", true), 0})) // non-positive: the registry's 90 s
	c.Advance(time.Second - 1)
	require.Equal(t, 101, r.CountOnline())
	c.Advance(1)
	require.Equal(t, 51, r.CountOnline())
	require.Equal(t, 50, r.CleanupStale())
	c.Advance(heartbeat.DefaultTimeout)
	require.Equal(t, 1, r.CleanupStale())
	c.Advance(time.Hour)
	require.Equal(t, 50, r.CleanupStale())

	h := shortLived{recent(c, "w", true), time.Minute}
	require.NoError(t, r.Update(h))
	allocs := testing.AllocsPerRun(100, func() { _ = r.Update(h) })
	require.Zero(t, allocs, "a renewal through Timeout allocates nothing")
}

// byPointer is a heartbeat stored as a pointer, with its own timeout.
type byPointer struct{ shortLived }

func (h *byPointer) ID() string          { return h.id }
func (h *byPointer) Info() string        { return h.id }
func (h *byPointer) IsAvailable() bool   { return h.available }
func (h *byPointer) LastSeen() time.Time { return h.ts }
func (h *byPointer) Timeout() time.Duration {
	return h.ttl
}

// pointerReceiver is a value heartbeat whose Timeout has a pointer receiver.
type pointerReceiver struct {
	testHeartbeat
	ttl time.Duration
}

func (h *pointerReceiver) Timeout() time.Duration { return h.ttl }

// Per-item timeouts whatever the method's receiver and the item's kind.
func TestPerItemTimeoutsOfEveryKind(t *testing.T) {
	c := newClock()
	ptrs := heartbeat.New[*byPointer](heartbeat.WithClock(c.Now))
	vals := heartbeat.New[pointerReceiver](heartbeat.WithClock(c.Now))
	require.NoError(t, ptrs.Update(&byPointer{shortLived{recent(c, "p", true), time.Second}}))
	require.NoError(t, vals.Update(pointerReceiver{recent(c, "v", true), time.Second}))
	c.Advance(time.Second - 1)
	require.Equal(t, 1, ptrs.CountOnline())
	require.Equal(t, 1, vals.CountOnline())
	c.Advance(1)
	require.Equal(t, 0, ptrs.CountOnline(), "the item's 1 s, not the registry's 90 s")
	require.Equal(t, 0, vals.CountOnline())

	h := &byPointer{shortLived{recent(c, "p", true), time.Minute}}
	require.Zero(t, testing.AllocsPerRun(100, func() { _ = ptrs.Update(h) }))
	v := pointerReceiver{recent(c, "v", true), time.Minute}
	require.Zero(t, testing.AllocsPerRun(100, func() { _ = vals.Update(v) }))
}

func TestIterators(t *testing.T) {
	c := newClock()
	r := newRegistry(c, heartbeat.WithShards(4))
	m := newModel(heartbeat.DefaultTimeout)
	for i := range 300 {
		h := testHeartbeat{id: fmt.Sprint("w", i), ts: epoch.Add(-time.Duration(i) * time.Second), available: i%3 == 0}
		m.items[h.id] = h
		require.NoError(t, r.Update(h))
	}
	collect := func(seq func(func(string, testHeartbeat) bool)) []string {
		var ids []string
		for id, h := range seq {
			require.Equal(t, id, h.id)
			ids = append(ids, id)
		}
		return ids
	}
	require.ElementsMatch(t, r.ListAll(), collect(r.All()))
	require.ElementsMatch(t, m.ids(c.Now(), false), collect(r.Online()))
	require.ElementsMatch(t, m.ids(c.Now(), true), collect(r.Available()))

	// Breaking early, and calling the registry from the loop body.
	n := 0
	for id := range r.Available() {
		require.True(t, r.IsOnline(id))
		require.NoError(t, r.Update(recent(c, id, false)))
		n++
		if n == 3 {
			break
		}
	}
	require.Equal(t, 3, n)

	// Nothing is allocated per item: the same for 300 items as for 3000.
	small := testing.AllocsPerRun(10, func() {
		for range r.All() {
		}
	})
	for i := range 3000 {
		require.NoError(t, r.Update(recent(c, fmt.Sprint("more", i), true)))
	}
	large := testing.AllocsPerRun(10, func() {
		for range r.All() {
		}
	})
	require.Equal(t, small, large)
}

func TestPickAvailable(t *testing.T) {
	c := newClock()
	r := newRegistry(c, heartbeat.WithShards(8))
	_, ok := r.PickAvailable(nil)
	require.False(t, ok, "empty")
	for i := range 100 {
		require.NoError(t, r.Update(testHeartbeat{id: fmt.Sprint("w", i), ts: c.Now(), available: i%10 == 0}))
	}
	require.NoError(t, r.Update(testHeartbeat{id: "stale", ts: epoch.Add(-time.Hour), available: true}))
	seen := map[string]bool{}
	for range 50 {
		h, ok := r.PickAvailable(nil)
		require.True(t, ok)
		require.True(t, h.available)
		require.NotEqual(t, "stale", h.id)
		seen[h.id] = true
	}
	require.Greater(t, len(seen), 1, "picks spread over the shards")
	h, ok := r.PickAvailable(func(h testHeartbeat) bool { return h.id == "w50" })
	require.True(t, ok)
	require.Equal(t, "w50", h.id)
	_, ok = r.PickAvailable(func(h testHeartbeat) bool { return h.id == "w51" })
	require.False(t, ok, "w51 is not available")
}

func TestStats(t *testing.T) {
	c := newClock()
	r := newRegistry(c, heartbeat.WithRejectOutOfOrder())
	require.NoError(t, r.Update(recent(c, "a", true)))
	require.NoError(t, r.Update(recent(c, "a", true)))
	require.NoError(t, r.Update(recent(c, "b", true)))
	require.ErrorIs(t, r.Update(old(c, "b", true)), heartbeat.ErrOutOfOrder)
	require.True(t, r.Remove("b"))
	c.Advance(heartbeat.DefaultTimeout)
	require.Equal(t, 1, r.CleanupStale())
	st := r.Stats()
	assert.Equal(t, int64(3), st.Updates)
	assert.Equal(t, int64(2), st.Inserts)
	assert.Equal(t, int64(1), st.Removals)
	assert.Equal(t, int64(1), st.Expirations)
	assert.Equal(t, int64(1), st.RejectedOutOfOrder)
	assert.Equal(t, int64(1), st.CleanupRuns)
	assert.Positive(t, st.CleanupVisited)
	assert.Positive(t, st.MaxCleanup)
	assert.Equal(t, st.MaxCleanup, st.LastCleanup)
}

func TestRejectOutOfOrder(t *testing.T) {
	c := newClock()
	r := newRegistry(c, heartbeat.WithRejectOutOfOrder())
	require.NoError(t, r.Update(recent(c, "w", false)))
	require.ErrorIs(t, r.Update(testHeartbeat{id: "w", ts: epoch.Add(-time.Millisecond), available: true}), heartbeat.ErrOutOfOrder)
	hbs := r.GetAllHeartbeats()
	require.Len(t, hbs, 1)
	require.False(t, hbs[0].available, "the rejected heartbeat changed nothing")
	require.NoError(t, r.Update(recent(c, "w", true)), "the same timestamp is accepted")
	c.Advance(time.Second)
	require.NoError(t, r.Update(recent(c, "w", true)))

	// The default stays last-writer-wins.
	lww := newRegistry(c)
	require.NoError(t, lww.Update(recent(c, "w", true)))
	require.NoError(t, lww.Update(old(c, "w", true)))
	require.False(t, lww.IsOnline("w"))
}

func TestPauseGrace(t *testing.T) {
	const timeout = 10 * time.Second
	setup := func(opts ...heartbeat.Option) (*fakeClock, *registry) {
		c := newClock()
		r := newRegistry(c, append([]heartbeat.Option{heartbeat.WithTimeout(timeout)}, opts...)...)
		for i := range 10 {
			require.NoError(t, r.Update(recent(c, fmt.Sprint("w", i), true)))
		}
		require.NoError(t, r.Update(old(c, "dead", true))) // stale before the pause
		require.Equal(t, 10, r.CountOnline())
		return c, r
	}
	// running lets time pass with the janitor running every second, as it
	// does when the process is not paused.
	running := func(c *fakeClock, ticks janitorTicks, d time.Duration) {
		for ; d >= time.Second; d -= time.Second {
			c.Advance(time.Second)
			tick(ticks)
		}
		c.Advance(d)
	}

	t.Run("janitor: a pause grants one timeout of grace", func(t *testing.T) {
		ticks := newTicks()
		c, r := setup(heartbeat.WithCleanupInterval(time.Second), ticks.option())
		defer r.Close()
		c.Advance(time.Minute) // the pause: nothing ran for a minute
		require.Equal(t, 10, r.CountOnline(), "nobody declared dead at the resume")
		require.False(t, r.IsOnline("dead"), "what was stale before the pause stays stale")
		require.Equal(t, 1, r.CleanupStale())
		require.Equal(t, int64(1), r.Stats().Pauses)
		running(c, ticks, 5*time.Second)
		for i := range 5 {
			require.NoError(t, r.Update(recent(c, fmt.Sprint("w", i), true))) // the live ones are heard from
		}
		running(c, ticks, 5*time.Second-1)
		require.Equal(t, 10, r.CountOnline(), "still within the grace")
		c.Advance(1)
		require.Equal(t, 5, r.CountOnline(), "one timeout after the resume, the silent ones expire")
		require.Equal(t, 5, r.CleanupStale())
		require.Equal(t, int64(1), r.Stats().Pauses)
	})

	t.Run("a second pause during the grace extends it", func(t *testing.T) {
		ticks := newTicks()
		c, r := setup(heartbeat.WithCleanupInterval(time.Second), ticks.option())
		defer r.Close()
		c.Advance(time.Minute)
		require.Equal(t, 10, r.CountOnline())
		c.Advance(8 * time.Second)
		require.Equal(t, 10, r.CountOnline())
		running(c, ticks, 10*time.Second-1)
		require.Equal(t, 10, r.CountOnline())
		c.Advance(1)
		require.Equal(t, 0, r.CountOnline())
		require.Equal(t, int64(2), r.Stats().Pauses)
	})

	t.Run("no janitor: exact semantics", func(t *testing.T) {
		c, r := setup()
		c.Advance(time.Minute)
		require.Equal(t, 0, r.CountOnline())
		require.Equal(t, int64(0), r.Stats().Pauses)
	})

	t.Run("grace turned off", func(t *testing.T) {
		ticks := newTicks()
		c, r := setup(heartbeat.WithCleanupInterval(time.Second), ticks.option(), heartbeat.WithPauseGrace(0))
		defer r.Close()
		c.Advance(time.Minute)
		require.Equal(t, 0, r.CountOnline())
	})

	t.Run("a short gap is no pause", func(t *testing.T) {
		ticks := newTicks()
		c, r := setup(heartbeat.WithCleanupInterval(time.Second), ticks.option())
		defer r.Close()
		c.Advance(4 * time.Second) // the default threshold: max(4 intervals, timeout/4)
		require.Equal(t, 10, r.CountOnline())
		running(c, ticks, 6*time.Second)
		require.Equal(t, 0, r.CountTotal(), "expired on time, removed by the janitor")
		require.Equal(t, int64(0), r.Stats().Pauses)
	})
}

func TestSchedulerOptionsPanicClearly(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []heartbeat.Option
		msg  string
	}{
		{"zero interval", []heartbeat.Option{heartbeat.WithCleanupInterval(0)}, "heartbeat: WithCleanupInterval(0s): the interval must be positive"},
		{"negative grace", []heartbeat.Option{heartbeat.WithCleanupInterval(time.Second), heartbeat.WithPauseGrace(-1)}, "heartbeat: WithPauseGrace(-1ns): the threshold must not be negative"},
		{"grace without janitor", []heartbeat.Option{heartbeat.WithPauseGrace(time.Second)}, "heartbeat: WithPauseGrace(1s): a pause grace needs a janitor (WithCleanupInterval)"},
		{"nil handler", []heartbeat.Option{heartbeat.WithEvents(nil)}, "heartbeat: WithEvents(nil): the handler must not be nil"},
		{"empty buffer", []heartbeat.Option{heartbeat.WithEventBuffer(0)}, "heartbeat: WithEventBuffer(0): the buffer must hold at least one event"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.PanicsWithValue(t, tc.msg, func() { heartbeat.New[testHeartbeat](tc.opts...) })
		})
	}
}
