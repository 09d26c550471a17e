package heartbeat_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/heartbeat-registry/heartbeat"
)

// testHeartbeat is the original crate's TestHeartbeat, with its timestamp
// reported instead of judged.
type testHeartbeat struct {
	id        string
	ts        time.Time
	available bool
}

func (h testHeartbeat) ID() string          { return h.id }
func (h testHeartbeat) Info() string        { return h.id }
func (h testHeartbeat) IsAvailable() bool   { return h.available }
func (h testHeartbeat) LastSeen() time.Time { return h.ts }

// fakeClock is the clock every test injects: time moves only when told.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

var epoch = time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)

func newClock() *fakeClock { return &fakeClock{t: epoch} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

type registry = heartbeat.Registry[testHeartbeat, string]

func newRegistry(c *fakeClock, opts ...heartbeat.Option) *registry {
	return heartbeat.New[testHeartbeat](append([]heartbeat.Option{heartbeat.WithClock(c.Now)}, opts...)...)
}

// The original crate's twelve unit tests, one to one. Its "now" and
// "now - 120 s" are the fake clock's.

func recent(c *fakeClock, id string, available bool) testHeartbeat {
	return testHeartbeat{id: id, ts: c.Now(), available: available}
}

func old(c *fakeClock, id string, available bool) testHeartbeat {
	return testHeartbeat{id: id, ts: c.Now().Add(-120 * time.Second), available: available}
}

func TestCrateNewRegistry(t *testing.T) {
	r := newRegistry(newClock())
	assert.Equal(t, 0, r.CountTotal())
}

func TestCrateUpdate(t *testing.T) {
	c := newClock()
	r := newRegistry(c)
	require.NoError(t, r.Update(recent(c, "item-1", true)))
	assert.Equal(t, 1, r.CountTotal())
	_, ok := r.Get("item-1")
	assert.True(t, ok)
}

func TestCrateGet(t *testing.T) {
	c := newClock()
	r := newRegistry(c)
	require.NoError(t, r.Update(recent(c, "item-1", true)))
	info, ok := r.Get("item-1")
	require.True(t, ok)
	assert.Equal(t, "item-1", info)
	_, ok = r.Get("nonexistent")
	assert.False(t, ok)
}

func TestCrateRemove(t *testing.T) {
	c := newClock()
	r := newRegistry(c)
	require.NoError(t, r.Update(recent(c, "item-1", true)))
	assert.True(t, r.Remove("item-1"))
	assert.False(t, r.Remove("item-1"), "already removed")
	assert.Equal(t, 0, r.CountTotal())
}

func TestCrateListAll(t *testing.T) {
	c := newClock()
	r := newRegistry(c)
	require.NoError(t, r.Update(recent(c, "item-1", true)))
	require.NoError(t, r.Update(recent(c, "item-2", false)))
	assert.Len(t, r.ListAll(), 2)
}

func TestCrateListOnline(t *testing.T) {
	c := newClock()
	r := newRegistry(c)
	require.NoError(t, r.Update(recent(c, "item-1", true)))
	require.NoError(t, r.Update(old(c, "item-2", true)))
	assert.Equal(t, []string{"item-1"}, r.ListOnline())
}

func TestCrateListAvailable(t *testing.T) {
	c := newClock()
	r := newRegistry(c)
	require.NoError(t, r.Update(recent(c, "item-1", true)))
	require.NoError(t, r.Update(recent(c, "item-2", false)))
	require.NoError(t, r.Update(old(c, "item-3", true)))
	assert.Equal(t, []string{"item-1"}, r.ListAvailable())
}

func TestCrateCountOnline(t *testing.T) {
	c := newClock()
	r := newRegistry(c)
	require.NoError(t, r.Update(recent(c, "item-1", true)))
	require.NoError(t, r.Update(recent(c, "item-2", false)))
	require.NoError(t, r.Update(old(c, "item-3", true)))
	assert.Equal(t, 2, r.CountOnline())
}

func TestCrateCountAvailable(t *testing.T) {
	c := newClock()
	r := newRegistry(c)
	require.NoError(t, r.Update(recent(c, "item-1", true)))
	require.NoError(t, r.Update(recent(c, "item-2", false)))
	require.NoError(t, r.Update(old(c, "item-3", true)))
	assert.Equal(t, 1, r.CountAvailable())
}

func TestCrateIsOnline(t *testing.T) {
	c := newClock()
	r := newRegistry(c)
	require.NoError(t, r.Update(recent(c, "item-1", true)))
	require.NoError(t, r.Update(old(c, "item-2", true)))
	assert.True(t, r.IsOnline("item-1"))
	assert.False(t, r.IsOnline("item-2"))
	assert.False(t, r.IsOnline("nonexistent"))
}

func TestCrateCleanupStale(t *testing.T) {
	c := newClock()
	r := newRegistry(c)
	require.NoError(t, r.Update(recent(c, "item-1", true)))
	require.NoError(t, r.Update(old(c, "item-2", true)))
	require.NoError(t, r.Update(old(c, "item-3", true)))
	assert.Equal(t, 2, r.CleanupStale())
	assert.Equal(t, 1, r.CountTotal())
}

func TestCrateUpdateExisting(t *testing.T) {
	c := newClock()
	r := newRegistry(c)
	require.NoError(t, r.Update(recent(c, "item-1", false)))
	require.NoError(t, r.Update(recent(c, "item-1", true)))
	assert.Equal(t, 1, r.CountTotal())
	hbs := r.GetAllHeartbeats()
	require.Len(t, hbs, 1)
	assert.True(t, hbs[0].IsAvailable())
}

// model is the original crate's design written plainly: the expected answer
// to every query, by full scan.
type model struct {
	timeout time.Duration
	items   map[string]testHeartbeat
}

func newModel(timeout time.Duration) *model {
	return &model{timeout: timeout, items: map[string]testHeartbeat{}}
}

func (m *model) online(h testHeartbeat, now time.Time) bool {
	return now.Before(h.ts.Add(m.timeout))
}

func (m *model) ids(now time.Time, availableOnly bool) []string {
	var out []string
	for id, h := range m.items {
		if m.online(h, now) && (!availableOnly || h.available) {
			out = append(out, id)
		}
	}
	return out
}

// requireMatches checks every query of r against m at the clock's time.
func requireMatches(t *testing.T, r *registry, m *model, now time.Time) {
	t.Helper()
	online, available := m.ids(now, false), m.ids(now, true)
	require.Equal(t, len(m.items), r.CountTotal(), "CountTotal")
	require.Equal(t, len(online), r.CountOnline(), "CountOnline")
	require.Equal(t, len(available), r.CountAvailable(), "CountAvailable")
	require.ElementsMatch(t, online, r.ListOnline(), "ListOnline")
	require.ElementsMatch(t, available, r.ListAvailable(), "ListAvailable")
	require.Len(t, r.ListAll(), len(m.items), "ListAll")
	for id, h := range m.items {
		require.Equal(t, m.online(h, now), r.IsOnline(id), "IsOnline(%s)", id)
	}
}

func TestUpdateRejectsEmptyID(t *testing.T) {
	c := newClock()
	r := newRegistry(c)
	require.ErrorIs(t, r.Update(testHeartbeat{ts: c.Now()}), heartbeat.ErrEmptyID)
	assert.Equal(t, 0, r.CountTotal())
	assert.Empty(t, r.ListAll())
}

func TestDeadlineBoundary(t *testing.T) {
	for _, timeout := range []time.Duration{time.Millisecond, 90 * time.Second, time.Hour, 100 * 24 * time.Hour} {
		for _, tc := range []struct {
			name   string
			offset time.Duration // of the clock from the deadline
			online bool
		}{
			{"deadline-1ns", -1, true},
			{"deadline", 0, false},
			{"deadline+1ns", 1, false},
		} {
			t.Run(fmt.Sprintf("timeout=%v/%s", timeout, tc.name), func(t *testing.T) {
				c := newClock()
				r := newRegistry(c, heartbeat.WithTimeout(timeout), heartbeat.WithShards(1))
				h := recent(c, "w", true)
				require.NoError(t, r.Update(h))
				require.Equal(t, 1, r.CountOnline(), "fresh") // the wheel has run once before the deadline
				c.Set(h.ts.Add(timeout + tc.offset))
				m := newModel(timeout)
				m.items["w"] = h
				requireMatches(t, r, m, c.Now())
				stale := 0
				if !tc.online {
					stale = 1
				}
				require.Equal(t, stale, r.CleanupStale())
				require.Equal(t, 1-stale, r.CountTotal())
			})
		}
	}
}

func TestRenewalMovesDeadline(t *testing.T) {
	c := newClock()
	r := newRegistry(c)
	require.NoError(t, r.Update(recent(c, "w", true)))
	c.Advance(60 * time.Second)
	require.Equal(t, 0, r.CleanupStale())
	require.NoError(t, r.Update(recent(c, "w", true))) // deadline now epoch+150s
	c.Set(epoch.Add(149 * time.Second))
	require.Equal(t, 0, r.CleanupStale())
	require.True(t, r.IsOnline("w"))
	require.Equal(t, 1, r.CountOnline())
	c.Set(epoch.Add(150 * time.Second))
	require.False(t, r.IsOnline("w"))
	require.Equal(t, 0, r.CountOnline())
	require.Equal(t, 1, r.CleanupStale())
}

func TestBackdatedRenewalMovesDeadlineEarlier(t *testing.T) {
	c := newClock()
	r := newRegistry(c)
	require.NoError(t, r.Update(recent(c, "w", true)))
	// Last writer wins: an older heartbeat replaces the newer one.
	require.NoError(t, r.Update(testHeartbeat{id: "w", ts: epoch.Add(-80 * time.Second), available: true}))
	c.Advance(9 * time.Second)
	require.Equal(t, 1, r.CountOnline())
	c.Advance(time.Second)
	require.Equal(t, 0, r.CountOnline())
	require.Equal(t, 1, r.CleanupStale())
}

func TestStaleItemComesBack(t *testing.T) {
	c := newClock()
	r := newRegistry(c)
	require.NoError(t, r.Update(recent(c, "w", true)))
	c.Advance(91 * time.Second)
	require.Equal(t, 0, r.CountOnline()) // moved aside as stale, not removed
	require.Equal(t, 1, r.CountTotal())
	require.NoError(t, r.Update(recent(c, "w", true)))
	require.Equal(t, 1, r.CountOnline())
	require.Equal(t, 1, r.CountAvailable())
	require.Equal(t, 0, r.CleanupStale())
}

func TestAvailabilityFlips(t *testing.T) {
	c := newClock()
	r := newRegistry(c)
	m := newModel(heartbeat.DefaultTimeout)
	for i := range 100 {
		h := recent(c, fmt.Sprint("w", i), i%2 == 0)
		m.items[h.id] = h
		require.NoError(t, r.Update(h))
	}
	requireMatches(t, r, m, c.Now())
	for i := range 100 {
		h := recent(c, fmt.Sprint("w", i), i%3 == 0)
		m.items[h.id] = h
		require.NoError(t, r.Update(h))
	}
	requireMatches(t, r, m, c.Now())
	c.Advance(heartbeat.DefaultTimeout) // all stale; availability flips while stale
	for i := range 50 {
		h := old(c, fmt.Sprint("w", i), i%5 == 0)
		m.items[h.id] = h
		require.NoError(t, r.Update(h))
	}
	requireMatches(t, r, m, c.Now())
	require.Equal(t, 100, r.CleanupStale())
}

func TestRemoveFiledAndStaleItems(t *testing.T) {
	c := newClock()
	r := newRegistry(c, heartbeat.WithShards(1))
	m := newModel(heartbeat.DefaultTimeout)
	for i := range 200 {
		h := testHeartbeat{id: fmt.Sprint("w", i), ts: epoch.Add(-time.Duration(i) * time.Second), available: true}
		m.items[h.id] = h
		require.NoError(t, r.Update(h))
	}
	require.Equal(t, 90, r.CountOnline()) // moves the rest to the stale list
	for i := 0; i < 200; i += 3 {
		id := fmt.Sprint("w", i)
		require.True(t, r.Remove(id))
		delete(m.items, id)
	}
	requireMatches(t, r, m, c.Now())
	require.Equal(t, len(m.items)-len(m.ids(c.Now(), false)), r.CleanupStale())
	for id, h := range m.items {
		if !m.online(h, c.Now()) {
			delete(m.items, id)
		}
	}
	requireMatches(t, r, m, c.Now())
	// Slots freed by removal are reused.
	for i := range 200 {
		h := recent(c, fmt.Sprint("again", i), false)
		m.items[h.id] = h
		require.NoError(t, r.Update(h))
	}
	requireMatches(t, r, m, c.Now())
}

// TestEveryWheelLevel spreads deadlines from milliseconds to a year ahead,
// so every level of the wheel and its overflow hold items, and walks the
// clock through them in irregular steps, renewing some items on the way.
func TestEveryWheelLevel(t *testing.T) {
	const timeout = 400 * 24 * time.Hour
	for _, shards := range []int{1, 4} {
		t.Run(fmt.Sprint("shards=", shards), func(t *testing.T) {
			c := newClock()
			r := newRegistry(c, heartbeat.WithTimeout(timeout), heartbeat.WithShards(shards))
			m := newModel(timeout)
			rng := rand.New(rand.NewPCG(1, 2))
			for i := range 3000 {
				// Remaining lifetimes log-uniform from 1 ms to 400 days.
				left := time.Duration(float64(time.Millisecond) * math.Pow(3.5e10, rng.Float64()))
				h := testHeartbeat{id: fmt.Sprint("w", i), ts: epoch.Add(left - timeout), available: i%4 == 0}
				m.items[h.id] = h
				require.NoError(t, r.Update(h))
			}
			requireMatches(t, r, m, c.Now())
			for step := range 60 {
				c.Advance(time.Duration(float64(time.Millisecond) * math.Pow(1e9, rng.Float64())))
				for range 20 {
					id := fmt.Sprint("w", rng.IntN(3000))
					if h, ok := m.items[id]; ok && rng.IntN(2) == 0 {
						h.ts = c.Now().Add(-time.Duration(rng.Int64N(int64(timeout))))
						m.items[id] = h
						require.NoError(t, r.Update(h))
					}
				}
				requireMatches(t, r, m, c.Now())
				if step%3 == 0 {
					stale := len(m.items) - len(m.ids(c.Now(), false))
					require.Equal(t, stale, r.CleanupStale(), "step %d", step)
					for id, h := range m.items {
						if !m.online(h, c.Now()) {
							delete(m.items, id)
						}
					}
				}
			}
		})
	}
}

func TestFarPastAndFarFuture(t *testing.T) {
	farFuture := time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name   string
		ts     time.Time
		skew   time.Duration
		online []time.Duration // clock offsets from epoch where it is online
		stale  []time.Duration // and where it is stale
	}{
		{"zero time", time.Time{}, heartbeat.DefaultMaxClockSkew, nil, []time.Duration{0}},
		{"year 1", time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), heartbeat.DefaultMaxClockSkew, nil, []time.Duration{0}},
		{"before 1678", time.Date(1500, 1, 1, 0, 0, 0, 0, time.UTC), heartbeat.DefaultMaxClockSkew, nil, []time.Duration{0}},
		{
			"year 9999 without allowance: online until the registry's time saturates", farFuture, 1<<63 - 1,
			[]time.Duration{0, 1000 * 24 * time.Hour, 200 * 365 * 24 * time.Hour}, nil,
		},
		{
			"year 9999 with the default allowance: dated now+10s", farFuture, heartbeat.DefaultMaxClockSkew,
			[]time.Duration{0, 99*time.Second + 999*time.Millisecond}, []time.Duration{100 * time.Second, 1000 * time.Hour},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newClock()
			r := newRegistry(c, heartbeat.WithMaxClockSkew(tc.skew))
			require.NoError(t, r.Update(testHeartbeat{id: "w", ts: tc.ts, available: true}))
			for _, at := range tc.online {
				c.Set(epoch.Add(at))
				require.True(t, r.IsOnline("w"), "at %v", at)
				require.Equal(t, 1, r.CountOnline(), "at %v", at)
				require.Equal(t, []string{"w"}, r.ListAvailable(), "at %v", at)
				require.Equal(t, 0, r.CleanupStale(), "at %v", at)
			}
			for _, at := range tc.stale {
				c.Set(epoch.Add(at))
				require.False(t, r.IsOnline("w"), "at %v", at)
				require.Equal(t, 0, r.CountOnline(), "at %v", at)
				require.Empty(t, r.ListAvailable(), "at %v", at)
			}
			if len(tc.stale) > 0 {
				require.Equal(t, 1, r.CleanupStale())
			}
		})
	}
}

func TestClockJumps(t *testing.T) {
	c := newClock()
	r := newRegistry(c, heartbeat.WithShards(4))
	m := newModel(heartbeat.DefaultTimeout)
	for i := range 1000 {
		h := testHeartbeat{id: fmt.Sprint("w", i), ts: epoch.Add(-time.Duration(i) * 50 * time.Millisecond), available: true}
		m.items[h.id] = h
		require.NoError(t, r.Update(h))
	}
	requireMatches(t, r, m, c.Now())

	// Backwards by an hour, after 60 s in which some went stale: the
	// registry's time stands still, nothing that was online goes stale and
	// nothing stale comes back, whichever query reads the clock first.
	c.Advance(60 * time.Second)
	at := c.Now()
	require.Equal(t, len(m.ids(at, false)), r.CountOnline())
	require.Positive(t, len(m.items)-len(m.ids(at, false)), "some are stale")
	c.Set(epoch.Add(-time.Hour))
	requireMatches(t, r, m, at)
	requireMatches(t, r, m, at) // the counts above must not have rewound the registry's time
	require.Equal(t, len(m.items)-len(m.ids(at, false)), r.CleanupStale())
	for id, h := range m.items {
		if !m.online(h, at) {
			delete(m.items, id)
		}
	}
	requireMatches(t, r, m, at)

	// Forward by a week: everything is stale, and the cleanup visits each
	// item once, not each of the week's 36 million level-0 slots.
	before, _ := r.WheelWork()
	c.Set(epoch.Add(7 * 24 * time.Hour))
	requireMatches(t, r, m, c.Now())
	require.Equal(t, len(m.items), r.CleanupStale())
	after, _ := r.WheelWork()
	require.LessOrEqual(t, after-before, len(m.items))
	require.Equal(t, 0, r.CountTotal())
}

// TestCleanupVisitsOnlyWhatIsDue counts the entries the wheel visits: a
// cleanup with nothing due touches none, and otherwise touches the stale
// items, the renewed ones whose old slot fell due, the ones moving down a
// level, and one boundary slot.
func TestCleanupVisitsOnlyWhatIsDue(t *testing.T) {
	const n = 10000
	c := newClock()
	r := newRegistry(c, heartbeat.WithShards(8))
	// Heartbeats sent over the last 90 s: deadlines spread over the next 90 s.
	for i := range n {
		require.NoError(t, r.Update(testHeartbeat{id: fmt.Sprint("w", i), ts: epoch.Add(-time.Duration(i) * 9 * time.Millisecond)}))
	}
	require.Equal(t, 0, r.CleanupStale())
	require.Equal(t, n, r.CountOnline())
	v0, _ := r.WheelWork()
	require.Equal(t, 0, r.CleanupStale(), "nothing due")
	v1, _ := r.WheelWork()
	require.Equal(t, v0, v1, "a cleanup with nothing due visits no item")

	// 100 ms later, about 11 items are stale (one every 9 ms).
	c.Advance(100 * time.Millisecond)
	removed := r.CleanupStale()
	require.InDelta(t, 11, removed, 1)
	v2, refiled := r.WheelWork()
	// What else it may look at: items cascading down a level, and the
	// boundary slot of each shard (16.8 ms of deadlines: ~2 items).
	require.Less(t, v2-v1, removed+200, "visited %d to remove %d", v2-v1, removed)

	// Renew everything every 3 s for ten timeouts; the wheel re-files each
	// item about once per timeout, in batch, inside cleanups.
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprint("w", i)
	}
	for range 300 {
		c.Advance(3 * time.Second)
		now := c.Now()
		for _, id := range ids {
			if err := r.Update(testHeartbeat{id: id, ts: now}); err != nil {
				require.NoError(t, err)
			}
		}
		require.Equal(t, 0, r.CleanupStale())
	}
	v3, refiled3 := r.WheelWork()
	t.Logf("900 s of renewals: %d visits, %d re-files for %d items (%.2f per item per timeout)",
		v3-v2, refiled3-refiled, n, float64(refiled3-refiled)/n/10)
	require.LessOrEqual(t, refiled3-refiled, n*(10+numLevelsForTest), "at most about one re-file per item per timeout")
}

// numLevelsForTest is the wheel's levels: a never-renewed item may move down
// each once.
const numLevelsForTest = 9

func TestOptionsPanicClearly(t *testing.T) {
	for _, tc := range []struct {
		name string
		opt  heartbeat.Option
		msg  string
	}{
		{"zero timeout", heartbeat.WithTimeout(0), "heartbeat: WithTimeout(0s): the timeout must be positive"},
		{"negative timeout", heartbeat.WithTimeout(-time.Second), "heartbeat: WithTimeout(-1s): the timeout must be positive"},
		{"zero shards", heartbeat.WithShards(0), "heartbeat: WithShards(0): the shard count must be a power of two from 1 to 65536"},
		{"three shards", heartbeat.WithShards(3), "heartbeat: WithShards(3): the shard count must be a power of two from 1 to 65536"},
		{"too many shards", heartbeat.WithShards(1 << 20), "heartbeat: WithShards(1048576): the shard count must be a power of two from 1 to 65536"},
		{"nil clock", heartbeat.WithClock(nil), "heartbeat: WithClock(nil): the clock must not be nil"},
		{"negative skew", heartbeat.WithMaxClockSkew(-1), "heartbeat: WithMaxClockSkew(-1ns): the allowance must not be negative"},
		{"nil option", nil, "heartbeat: New: an Option is nil"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.PanicsWithValue(t, tc.msg, func() { heartbeat.New[testHeartbeat](tc.opt) })
		})
	}
}

func TestAbsurdTimeoutSaturates(t *testing.T) {
	c := newClock()
	r := newRegistry(c, heartbeat.WithTimeout(1<<63-1))
	require.NoError(t, r.Update(recent(c, "w", true)))
	c.Set(time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC))
	require.True(t, r.IsOnline("w"))
	require.Equal(t, 1, r.CountOnline())
	require.Equal(t, 0, r.CleanupStale())
}

func TestListsAreCopies(t *testing.T) {
	c := newClock()
	r := newRegistry(c)
	for i := range 10 {
		require.NoError(t, r.Update(recent(c, fmt.Sprint("w", i), true)))
	}
	all := r.ListAll()
	slices.Sort(all)
	require.NoError(t, r.Update(recent(c, "w10", true)))
	require.True(t, r.Remove("w0"))
	require.Len(t, all, 10)
	require.Equal(t, "w0", all[0])
}

// TestConcurrentUse is a short -race check of every method at once; the
// long stress test lives with the reliability work.
func TestConcurrentUse(t *testing.T) {
	c := newClock()
	r := newRegistry(c, heartbeat.WithShards(4), heartbeat.WithTimeout(time.Second))
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 2000 {
				id := fmt.Sprint("w", (i*7+g)%300)
				switch i % 10 {
				case 0:
					r.Remove(id)
				case 1:
					r.CleanupStale()
				case 2:
					r.CountOnline()
					r.CountAvailable()
				case 3:
					r.ListAvailable()
				case 4:
					c.Advance(10 * time.Millisecond)
				default:
					_ = r.Update(recent(c, id, i%3 == 0))
					r.IsOnline(id)
					r.Get(id)
				}
			}
		}()
	}
	wg.Wait()
	require.Equal(t, r.CountTotal(), len(r.ListAll()))
	require.Equal(t, r.CountOnline(), len(r.ListOnline()))
	require.Equal(t, r.CountAvailable(), len(r.ListAvailable()))
}

// TestAvailabilityChurn flips, removes and re-adds many items in one shard,
// so that the shard's available list keeps entries of nodes that are no
// longer available, of freed nodes and of reused ones, and is compacted
// many times; every answer is checked against the model on the way.
func TestAvailabilityChurn(t *testing.T) {
	c := newClock()
	r := newRegistry(c, heartbeat.WithShards(1))
	m := newModel(heartbeat.DefaultTimeout)
	rng := rand.New(rand.NewPCG(5, 6))
	for round := range 40 {
		for range 500 {
			id := fmt.Sprint("w", rng.IntN(400))
			if rng.IntN(8) == 0 {
				r.Remove(id)
				delete(m.items, id)
				continue
			}
			h := testHeartbeat{id: id, ts: c.Now().Add(-time.Duration(rng.IntN(100)) * time.Second), available: rng.IntN(3) == 0}
			m.items[id] = h
			require.NoError(t, r.Update(h))
		}
		requireMatches(t, r, m, c.Now())
		if round%10 == 9 {
			c.Advance(10 * time.Second)
			r.CleanupStale()
			for id, h := range m.items {
				if !m.online(h, c.Now()) {
					delete(m.items, id)
				}
			}
		}
	}
}
