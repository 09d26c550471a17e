package heartbeat_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/heartbeat-registry/heartbeat"
)

// The reliability tests: concurrency (a stress test with consistency checks
// at quiescent points, the renewal-against-cleanup race, per-key
// linearizability), hostile and odd input, heartbeats dated in the future,
// and clock faults. They use the probe heartbeat, probe clock and refModel
// of fuzz_test.go. No test sleeps for time to pass: the clock is a fake one.

func newProbeRegistry(clk *probeClock, opts ...heartbeat.Option) *probeRegistry {
	return heartbeat.New[probeHB](append([]heartbeat.Option{heartbeat.WithClock(clk.Now)}, opts...)...)
}

// guardTimeout bounds a call made on another goroutine: a registry method
// that has not returned by then waits on a lock that nobody will release.
const guardTimeout = 30 * time.Second

// callGuarded runs f on another goroutine, and returns what f panicked with,
// or nil if it returned. It fails the test if f has not finished within
// guardTimeout, which is how a lock left held by an earlier panic shows.
func callGuarded(t *testing.T, what string, f func()) (panicked any) {
	t.Helper()
	done := make(chan any, 1)
	go func() {
		defer func() { done <- recover() }() // nil if f returned: panic(nil) recovers as a *runtime.PanicNilError
		f()
	}()
	select {
	case p := <-done:
		return p
	case <-time.After(guardTimeout):
		require.FailNow(t, "deadlock", "%s has not returned after %v: a lock is held", what, guardTimeout)
		return nil
	}
}

// requireUsable calls every method of r from another goroutine (ListAll
// and CleanupStale take every shard's lock), then checks every answer
// against m. It fails, rather than hangs, if an earlier panic left a lock
// held.
func requireUsable(t *testing.T, r *probeRegistry, m *refModel, clk *probeClock) {
	t.Helper()
	var removed int
	probe := probeHB{id: "usable-probe", seq: math.MaxUint64, seen: clk.peek(), avail: true}
	p := callGuarded(t, "every method", func() {
		_ = r.Update(probe)
		r.Get(probe.id)
		r.IsOnline(probe.id)
		r.CountOnline()
		r.CountAvailable()
		r.CountTotal()
		r.ListAll() // locks every shard
		r.ListOnline()
		r.ListAvailable()
		r.GetAllHeartbeats()
		r.Remove(probe.id)
		removed = r.CleanupStale() // locks every shard
	})
	require.Nil(t, p, "a method panicked")
	m.read(clk.peek())
	require.Equal(t, m.cleanup(), removed, "CleanupStale")
	requireModel(t, r, m, clk)
}

// deadlineOf is when h goes stale in a registry with this timeout, for a
// heartbeat not dated beyond the clock-skew allowance.
func deadlineOf(h probeHB, timeout time.Duration) time.Time { return h.seen.Add(timeout) }

// duplicates returns the IDs that a list names more than once, with the
// same heartbeat or not.
func duplicates(infos []probeInfo) []string {
	seen := make(map[string]bool, len(infos))
	var dups []string
	for _, in := range infos {
		if seen[in.ID] {
			dups = append(dups, in.ID)
		}
		seen[in.ID] = true
	}
	return dups
}

// TestStressQuiescentConsistency runs writers (renewing, inserting,
// backdating, removing and reading their own keys), a lister, a counter, a
// cleaner and a goroutine that advances the fake clock, all at once, in
// several rounds. Each key is owned by one writer, so "the latest write" of
// a key is well defined. Between rounds everything stops, and the registry
// must agree with itself (every count with its list, no list naming an item
// twice) and with the writers' records: a key whose latest heartbeat is
// still recent is stored with exactly that heartbeat and online; a stale one
// is either stored with its latest heartbeat or cleaned up; a removed one
// is absent.
//
// The clock only moves forward here, so that a heartbeat dated by it is
// never beyond the skew allowance by the time the registry reads the clock:
// every deadline is exactly LastSeen + timeout. Backward clocks are the
// fuzz target's and TestClockGoesBackwards' business.
func TestStressQuiescentConsistency(t *testing.T) {
	if testing.Short() {
		t.Skip("stress test; skipped with -short")
	}
	const (
		writers        = 4
		keysPerWriter  = 250
		rounds         = 8
		writesPerRound = 8000 // per writer
		timeout        = time.Second
	)
	clk := newProbeClock(fzEpoch)
	r := newProbeRegistry(clk, heartbeat.WithShards(8), heartbeat.WithTimeout(timeout))

	type owner struct {
		keys    []string
		latest  map[string]probeHB // the latest write of each stored key
		removed map[string]bool    // keys whose latest operation was Remove
	}
	owners := make([]*owner, writers)
	for g := range owners {
		o := &owner{latest: map[string]probeHB{}, removed: map[string]bool{}}
		for k := range keysPerWriter {
			o.keys = append(o.keys, fmt.Sprintf("s%d-%d", g, k))
		}
		owners[g] = o
	}
	var seq atomic.Uint64

	for round := range rounds {
		var (
			mu       sync.Mutex
			problems []string
		)
		report := func(format string, args ...any) {
			mu.Lock()
			defer mu.Unlock()
			if len(problems) < 20 {
				problems = append(problems, fmt.Sprintf(format, args...))
			}
		}
		var stop atomic.Bool
		var background, workers sync.WaitGroup
		runBackground := func(f func(rng *rand.Rand)) {
			background.Add(1)
			go func() {
				defer background.Done()
				rng := rand.New(rand.NewPCG(uint64(round), 100))
				for !stop.Load() {
					f(rng)
					runtime.Gosched()
				}
			}()
		}
		// The clock: a small step per 20 writes, whatever the speed of the
		// machine (or the race detector), and now and then a mass expiry.
		var writes atomic.Int64
		stepped := int64(0)
		runBackground(func(rng *rand.Rand) {
			if n := writes.Load(); n-stepped >= 20 {
				stepped = n
				step := time.Duration(rng.IntN(20)) * time.Millisecond
				if rng.IntN(400) == 0 {
					step = timeout * 3 / 2
				}
				clk.advance(step)
			}
		})
		runBackground(func(*rand.Rand) { r.CleanupStale() })
		runBackground(func(*rand.Rand) {
			for name, list := range map[string]func() []probeInfo{"ListAll": r.ListAll, "ListOnline": r.ListOnline, "ListAvailable": r.ListAvailable} {
				if dups := duplicates(list()); len(dups) > 0 {
					report("%s names %v twice", name, dups)
				}
			}
			if dups := duplicates(rawInfos(r.GetAllHeartbeats())); len(dups) > 0 {
				report("GetAllHeartbeats holds %v twice", dups)
			}
		})
		runBackground(func(*rand.Rand) {
			if o, a, n := r.CountOnline(), r.CountAvailable(), r.CountTotal(); o < 0 || a < 0 || n < 0 {
				report("negative count: online %d, available %d, total %d", o, a, n)
			}
		})

		for g, o := range owners {
			workers.Add(1)
			go func() {
				defer workers.Done()
				rng := rand.New(rand.NewPCG(uint64(round), uint64(g)))
				for range writesPerRound {
					writes.Add(1)
					k := o.keys[rng.IntN(len(o.keys))]
					latest, stored := o.latest[k]
					switch p := rng.IntN(100); {
					case p < 75: // a renewal or an insert, fresh or aged up to two timeouts
						h := probeHB{id: k, seq: seq.Add(1), seen: clk.peek(), avail: rng.IntN(2) == 0}
						if p >= 60 {
							h.seen = h.seen.Add(-time.Duration(rng.Int64N(int64(2 * timeout))))
						}
						if err := r.Update(h); err != nil {
							report("Update(%s): %v", k, err)
						}
						o.latest[k] = h
						delete(o.removed, k)
						// Online unless the clock has passed the deadline since.
						if !r.IsOnline(k) && clk.peek().Before(deadlineOf(h, timeout)) {
							report("%s is offline right after a heartbeat that is still recent", k)
						}
					case p < 85:
						found := r.Remove(k)
						switch {
						case found && !stored:
							report("Remove(%s) found an item that was removed or never written", k)
						case !found && stored && clk.peek().Before(deadlineOf(latest, timeout)):
							report("Remove(%s) found nothing, but its latest heartbeat is recent", k)
						}
						delete(o.latest, k)
						o.removed[k] = true
					default:
						info, ok := r.Get(k)
						switch {
						case ok && !stored:
							report("Get(%s) = %v: the key was removed or never written", k, info)
						case ok && info != rawInfo(latest):
							report("Get(%s) = %v, not the latest write %v", k, info, rawInfo(latest))
						case !ok && stored && clk.peek().Before(deadlineOf(latest, timeout)):
							report("Get(%s) found nothing, but its latest heartbeat is recent", k)
						}
					}
				}
			}()
		}
		workers.Wait()
		stop.Store(true)
		background.Wait()
		require.Empty(t, problems, "round %d, while running", round)

		// The quiescent point: nothing else runs, the clock stands still.
		now := clk.peek()
		all, total := r.ListAll(), r.CountTotal()
		online, available := r.ListOnline(), r.ListAvailable()
		require.Len(t, all, total, "round %d: CountTotal against ListAll", round)
		require.Len(t, r.GetAllHeartbeats(), total, "round %d: CountTotal against GetAllHeartbeats", round)
		require.Equal(t, r.CountOnline(), len(online), "round %d: CountOnline against ListOnline", round)
		require.Equal(t, r.CountAvailable(), len(available), "round %d: CountAvailable against ListAvailable", round)
		for name, list := range map[string][]probeInfo{"ListAll": all, "ListOnline": online, "ListAvailable": available} {
			require.Empty(t, duplicates(list), "round %d: %s names these twice", round, name)
		}

		var wantOnline, wantAvailable []probeInfo
		latestOf := map[string]probeHB{}
		for _, o := range owners {
			for k, h := range o.latest {
				latestOf[k] = h
				info, ok := r.Get(k)
				if now.Before(deadlineOf(h, timeout)) {
					require.True(t, ok, "round %d: %s has a recent heartbeat but is not stored", round, k)
					require.Equal(t, rawInfo(h), info, "round %d: %s", round, k)
					require.True(t, r.IsOnline(k), "round %d: %s has a recent heartbeat but is offline", round, k)
					wantOnline = append(wantOnline, rawInfo(h))
					if h.avail {
						wantAvailable = append(wantAvailable, rawInfo(h))
					}
				} else if ok {
					require.Equal(t, rawInfo(h), info, "round %d: stale %s", round, k)
					require.False(t, r.IsOnline(k), "round %d: stale %s", round, k)
				}
			}
			for k := range o.removed {
				_, ok := r.Get(k)
				require.False(t, ok, "round %d: %s was removed", round, k)
			}
		}
		for _, in := range all {
			h, ok := latestOf[in.ID]
			require.True(t, ok, "round %d: ListAll names %v, which is removed or was never written", round, in)
			require.Equal(t, rawInfo(h), in, "round %d: ListAll holds a write that is not the latest", round)
		}
		sameInfos(t, wantOnline, online, "round %d: ListOnline", round)
		sameInfos(t, wantAvailable, available, "round %d: ListAvailable", round)
		require.Equal(t, len(all)-len(online), r.CleanupStale(), "round %d: CleanupStale removes exactly the stale ones", round)
		require.Equal(t, len(online), r.CountTotal(), "round %d: after the cleanup", round)
		t.Logf("round %d: %d stored, %d online, %d available at the quiescent point", round, len(all), len(online), len(available))
	}
}

// TestRenewalAtDeadlineSurvivesCleanup is the classic race: an item at its
// deadline, a renewal and a CleanupStale. A renewal that returned before the
// cleanup began must never be undone by it.
func TestRenewalAtDeadlineSurvivesCleanup(t *testing.T) {
	const timeout = heartbeat.DefaultTimeout
	deadline := fzEpoch.Add(timeout)

	// The renewal returns, then the cleanup runs (on another goroutine, after
	// a channel receive: a happens-before edge and nothing more). The clock
	// is exactly at the old deadline, where the item is stale: without the
	// renewal the cleanup would remove it. The crowd of items expiring at the
	// same instant makes the cleanup work in several batches of 512, with
	// the shard's lock released in between; stale-listed means a count has
	// already moved the item aside as stale before the renewal.
	t.Run("sequential", func(t *testing.T) {
		for _, tc := range []struct {
			name        string
			shards      int
			crowd       int
			staleListed bool
			renewal     time.Time // the renewal's LastSeen
			survives    bool
		}{
			{"alone, filed, renewed now", 1, 0, false, deadline, true},
			{"alone, stale-listed, renewed now", 1, 0, true, deadline, true},
			{"alone, filed, renewed 1ns later than before", 1, 0, false, fzEpoch.Add(1), true},
			{"alone, stale-listed, renewed 1ns later than before", 1, 0, true, fzEpoch.Add(1), true},
			{"crowd of 2000, filed", 1, 2000, false, deadline, true},
			{"crowd of 2000, stale-listed", 1, 2000, true, deadline, true},
			{"crowd of 2000 in 4 shards, renewed 1ns later", 4, 2000, false, fzEpoch.Add(1), true},
			{"crowd of 2000 in 4 shards, stale-listed", 4, 2000, true, fzEpoch.Add(1), true},
			// The control: a renewal with the same LastSeen keeps the same
			// deadline, so the item is stale and goes.
			{"control: renewed with the old LastSeen", 1, 2000, false, fzEpoch, false},
		} {
			t.Run(tc.name, func(t *testing.T) {
				for range 10 {
					clk := newProbeClock(fzEpoch)
					r := newProbeRegistry(clk, heartbeat.WithShards(tc.shards), heartbeat.WithTimeout(timeout))
					for i := range tc.crowd {
						require.NoError(t, r.Update(probeHB{id: fmt.Sprint("crowd", i), seen: fzEpoch}))
					}
					require.NoError(t, r.Update(probeHB{id: "target", seq: 1, seen: fzEpoch, avail: true}))
					clk.set(deadline)
					if tc.staleListed {
						require.Equal(t, 0, r.CountOnline())
					}
					renewed, cleaned := make(chan struct{}), make(chan int)
					go func() {
						_ = r.Update(probeHB{id: "target", seq: 2, seen: tc.renewal, avail: true})
						close(renewed)
					}()
					go func() {
						<-renewed
						cleaned <- r.CleanupStale()
					}()
					removed := <-cleaned
					info, ok := r.Get("target")
					if !tc.survives {
						require.Equal(t, tc.crowd+1, removed)
						require.False(t, ok)
						continue
					}
					require.Equal(t, tc.crowd, removed, "the cleanup removes the crowd and only the crowd")
					require.True(t, ok, "the renewed item was removed")
					require.Equal(t, probeInfo{"target", 2}, info)
					require.True(t, r.IsOnline("target"))
					require.Equal(t, 1, r.CountTotal())
					require.Equal(t, 1, r.CountOnline())
					require.Equal(t, 1, r.CountAvailable())
					require.Equal(t, []probeInfo{{"target", 2}}, r.ListAvailable())
				}
			})
		}
	})

	// Renewals and one cleanup truly at once. The renewer renews a third of
	// 1200 items, all stale at the clock's time, in a random order, and
	// after each Update notes whether CleanupStale had been called yet. The
	// cleaner calls it once the renewer has done a varying number of
	// renewals, and the renewer waits for that call before going on, so
	// that the cleanup starts at a different point of the renewal stream
	// each time and the renewals that follow meet the cleanup's batches and
	// the windows between them, where it releases the shard's lock. No
	// sleep: atomics order the two.
	//
	// Two invariants. The issue's: a renewal that returned before
	// CleanupStale was called is present afterwards. And a stronger one that
	// also holds for overlapping calls: Update stores (it inserts if the
	// cleanup got there first), and a renewed item is online at the
	// cleanup's time, so whatever the interleaving, every renewed item is
	// present afterwards and every other item is gone.
	t.Run("concurrent", func(t *testing.T) {
		const n = 1200
		iterations := 200
		if testing.Short() {
			iterations = 40
		}
		ids := make([]string, n)
		for i := range ids {
			ids[i] = fmt.Sprint("r", i)
		}
		rng := rand.New(rand.NewPCG(7, 8))
		during := 0 // renewals that returned while the cleanup ran, over all iterations
		for iter := range iterations {
			clk := newProbeClock(fzEpoch)
			r := newProbeRegistry(clk, heartbeat.WithShards([]int{1, 4}[iter%2]), heartbeat.WithTimeout(timeout))
			for _, id := range ids {
				require.NoError(t, r.Update(probeHB{id: id, seq: 1, seen: fzEpoch}))
			}
			clk.set(deadline)
			if iter%4 >= 2 {
				require.Equal(t, 0, r.CountOnline()) // stale-listed before the race
			}
			toRenew := rng.Perm(n)[:n/3]
			startAfter := iter * 7 % len(toRenew)
			var (
				cleanupCalled, cleanupDone atomic.Bool
				progress                   atomic.Int32
				renewed                    []string // by the renewer
				before                     []string // renewals that returned before CleanupStale was called
				removed                    int
				wg                         sync.WaitGroup
			)
			wg.Add(2)
			go func() {
				defer wg.Done()
				for j, k := range toRenew {
					if j == startAfter {
						for !cleanupCalled.Load() {
							runtime.Gosched()
						}
					}
					_ = r.Update(probeHB{id: ids[k], seq: 2, seen: deadline})
					renewed = append(renewed, ids[k])
					switch {
					case !cleanupCalled.Load():
						before = append(before, ids[k])
					case !cleanupDone.Load():
						during++
					}
					progress.Add(1)
				}
			}()
			go func() {
				defer wg.Done()
				for progress.Load() < int32(startAfter) {
					runtime.Gosched()
				}
				cleanupCalled.Store(true)
				removed = r.CleanupStale()
				cleanupDone.Store(true)
			}()
			wg.Wait()
			for _, id := range before {
				require.True(t, r.IsOnline(id), "iteration %d: %s was renewed before the cleanup began, and is gone", iter, id)
			}
			isRenewed := map[string]bool{}
			for _, id := range renewed {
				isRenewed[id] = true
			}
			for _, id := range ids {
				info, ok := r.Get(id)
				if isRenewed[id] {
					require.True(t, ok, "iteration %d: renewed %s is gone", iter, id)
					require.Equal(t, probeInfo{id, 2}, info, "iteration %d", iter)
				} else {
					require.False(t, ok, "iteration %d: stale %s survived the cleanup", iter, id)
				}
			}
			// Removed: every unrenewed item, and those renewed items that the
			// cleanup removed before their renewal re-inserted them.
			require.GreaterOrEqual(t, removed, n-len(renewed), "iteration %d", iter)
			require.LessOrEqual(t, removed, n, "iteration %d", iter)
			require.Equal(t, len(renewed), r.CountTotal(), "iteration %d", iter)
			require.Equal(t, len(renewed), r.CountOnline(), "iteration %d", iter)
			require.Equal(t, 0, r.CleanupStale(), "iteration %d", iter)
		}
		t.Logf("%d renewals returned while a cleanup was running, over %d iterations", during, iterations)
	})
}

// TestPerKeyLinearizable has several goroutines update one key, each with
// strictly increasing timestamps of its own, interleaved with each other.
//
// The choice documented here: the registry is last-writer-wins by the order
// in which Updates take effect (linearize), not by LastSeen. It does not
// keep the heartbeat with the latest timestamp: a heartbeat that arrives
// late replaces a newer one (as the original crate did). So with the
// updates serialized by the caller, the stored heartbeat is the last one
// sent (sequential consistency); without any ordering, it is the final
// heartbeat of one of the writers, since every other write is followed by
// its own writer's final one.
//
// Meanwhile a reader checks that it never sees a torn heartbeat: the stored
// LastSeen always belongs to the stored sequence number.
func TestPerKeyLinearizable(t *testing.T) {
	const (
		writers = 4
		writes  = 5000
		key     = "k"
	)
	// Writer g's i-th heartbeat: sequence g<<32|i, dated i ms + g ns after the epoch.
	heartbeatOf := func(g, i int) probeHB {
		return probeHB{
			id:    key,
			seq:   uint64(g)<<32 | uint64(i),
			seen:  fzEpoch.Add(time.Duration(i)*time.Millisecond + time.Duration(g)),
			avail: (g+i)%2 == 0,
		}
	}
	for _, serialized := range []bool{true, false} {
		t.Run(fmt.Sprint("serialized=", serialized), func(t *testing.T) {
			clk := newProbeClock(fzEpoch)
			r := newProbeRegistry(clk, heartbeat.WithShards(4))
			var (
				mu      sync.Mutex // serializes Update and the record of the last one, if serialized
				last    probeHB
				stop    atomic.Bool
				torn    atomic.Value
				readers sync.WaitGroup
				wg      sync.WaitGroup
			)
			readers.Add(1)
			go func() {
				defer readers.Done()
				for !stop.Load() {
					for _, h := range r.GetAllHeartbeats() {
						if want := heartbeatOf(int(h.seq>>32), int(uint32(h.seq))); !h.seen.Equal(want.seen) || h.avail != want.avail {
							torn.Store(fmt.Sprintf("seq %x with LastSeen %v, available %v", h.seq, h.seen, h.avail))
						}
					}
					if info, ok := r.Get(key); ok && info.ID != key {
						torn.Store(fmt.Sprintf("Get(%q) = %v", key, info))
					}
					runtime.Gosched()
				}
			}()
			for g := range writers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range writes {
						h := heartbeatOf(g, i)
						if serialized {
							mu.Lock()
						}
						_ = r.Update(h)
						if serialized {
							last = h
							mu.Unlock()
						}
						if i%64 == 0 {
							runtime.Gosched() // nudge the writers to interleave
						}
					}
				}()
			}
			wg.Wait()
			stop.Store(true)
			readers.Wait()
			require.Nil(t, torn.Load(), "a reader saw a torn heartbeat")

			info, ok := r.Get(key)
			require.True(t, ok)
			hbs := r.GetAllHeartbeats()
			require.Len(t, hbs, 1)
			if serialized {
				require.Equal(t, rawInfo(last), info, "the last Update to complete wins")
				require.Equal(t, last, hbs[0])
			} else {
				var finals []probeInfo
				for g := range writers {
					finals = append(finals, rawInfo(heartbeatOf(g, writes-1)))
				}
				require.Contains(t, finals, info, "the stored heartbeat is one writer's final one")
				require.Equal(t, heartbeatOf(int(info.Seq>>32), writes-1), hbs[0])
			}
			// The deadline is the stored heartbeat's, not the latest-dated one's.
			clk.set(hbs[0].seen.Add(heartbeat.DefaultTimeout - 1))
			require.True(t, r.IsOnline(key))
			clk.set(hbs[0].seen.Add(heartbeat.DefaultTimeout))
			require.False(t, r.IsOnline(key))
			require.Equal(t, 1, r.CleanupStale())
		})
	}
}

// TestHostileInput feeds the registry odd and hostile items. Each is
// refused with a clear error or handled as documented, never corrupts the
// registry (a full check against the model follows each), and never leaves
// a lock held (every method is called again from another goroutine, with a
// time limit).
func TestHostileInput(t *testing.T) {
	const timeout = heartbeat.DefaultTimeout
	setup := func(t *testing.T, opts ...heartbeat.Option) (*probeRegistry, *refModel, *probeClock) {
		clk := newProbeClock(fzEpoch)
		r := newProbeRegistry(clk, append([]heartbeat.Option{heartbeat.WithShards(4), heartbeat.WithTimeout(timeout)}, opts...)...)
		m := newRefModel(timeout, heartbeat.DefaultMaxClockSkew, fzEpoch)
		// Some ordinary neighbours, online, stale and available, to be kept intact.
		for i := range 50 {
			h := probeHB{id: fmt.Sprint("n", i), seq: uint64(i), seen: fzEpoch.Add(-time.Duration(i) * 3 * time.Second), avail: i%3 == 0}
			_, err := m.update(h.id, h, clk.peek())
			require.NoError(t, err)
			require.NoError(t, r.Update(h))
		}
		requireModel(t, r, m, clk)
		return r, m, clk
	}
	// update stores h in r and m alike, checking the error and the clock
	// readings against the model's.
	update := func(t *testing.T, r *probeRegistry, m *refModel, clk *probeClock, key string, h probeHB) {
		t.Helper()
		reads := clk.readings()
		read, wantErr := m.update(key, h, clk.peek())
		require.Equal(t, wantErr, r.Update(h))
		wantReads := 0
		if read {
			wantReads = 1
		}
		require.Equal(t, wantReads, clk.readings()-reads, "Update's clock readings")
	}
	var seq atomic.Uint64
	seq.Store(1000)
	hb := func(id string, seen time.Time) probeHB {
		return probeHB{id: id, seq: seq.Add(1), seen: seen, avail: true}
	}

	t.Run("empty ID: ErrEmptyID, nothing stored, nothing else called, no clock reading", func(t *testing.T) {
		r, m, clk := setup(t)
		var calls atomic.Int32
		h := hb("", time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)) // would read the clock if looked at
		h.hooks = &probeHooks{seen: func() { calls.Add(1) }, avail: func() { calls.Add(1) }}
		reads := clk.readings()
		require.ErrorIs(t, r.Update(h), heartbeat.ErrEmptyID)
		require.Equal(t, reads, clk.readings())
		require.Zero(t, calls.Load(), "LastSeen or IsAvailable was called for an empty ID")
		_, ok := r.Get("")
		require.False(t, ok)
		require.False(t, r.Remove(""))
		require.False(t, r.IsOnline(""))
		requireUsable(t, r, m, clk)
	})

	t.Run("odd bytes in IDs are keys like any other", func(t *testing.T) {
		r, m, clk := setup(t)
		huge := strings.Repeat("x", 1<<20)
		ids := []string{
			"\x00", "\x00\x00", "w\x00", "w", // NUL is a byte like any other: all distinct
			"\xff\xfe\xfd", "\xc3", // invalid UTF-8
			"🫀", "e\u0301", "\u00e9", // emoji; two spellings of é, distinct (no normalization)
			" ", "\t\n", strings.Repeat("\x00", 64),
			huge, huge[:len(huge)-1] + "y", // 1 MiB each, differing in the last byte only
		}
		for _, id := range ids {
			update(t, r, m, clk, id, hb(id, clk.peek()))
		}
		requireModel(t, r, m, clk)
		for _, id := range ids {
			info, ok := r.Get(id)
			require.True(t, ok)
			require.Equal(t, id, info.ID) // the whole ID, even at 1 MiB
		}
		for _, id := range []string{huge, "\x00", "e\u0301"} {
			require.True(t, r.Remove(id))
			require.True(t, m.remove(id))
		}
		requireUsable(t, r, m, clk)
	})

	t.Run("far past and far future LastSeen saturate", func(t *testing.T) {
		r, m, clk := setup(t)
		update(t, r, m, clk, "zero", hb("zero", time.Time{}))                                // stale at once, stored
		update(t, r, m, clk, "year1", hb("year1", time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC))) // likewise
		update(t, r, m, clk, "1677", hb("1677", time.Unix(0, math.MinInt64)))                // the earliest int64 instant: saturates, stale too
		update(t, r, m, clk, "9999", hb("9999", time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)))
		update(t, r, m, clk, "2262", hb("2262", time.Unix(0, math.MaxInt64)))
		requireModel(t, r, m, clk)
		for _, id := range []string{"zero", "year1", "1677"} {
			require.False(t, r.IsOnline(id), id)
			_, ok := r.Get(id)
			require.True(t, ok, "stored until cleaned up: %s", id)
		}
		// Dated beyond the allowance: taken as now + 10 s.
		clk.set(fzEpoch.Add(heartbeat.DefaultMaxClockSkew + timeout - 1))
		require.True(t, r.IsOnline("9999"))
		clk.set(fzEpoch.Add(heartbeat.DefaultMaxClockSkew + timeout))
		require.False(t, r.IsOnline("9999"))
		requireUsable(t, r, m, clk)
	})

	t.Run("Info panics: the panic reaches the caller, no lock is held", func(t *testing.T) {
		r, m, clk := setup(t)
		var armed atomic.Bool
		h := hb("bomb", clk.peek())
		h.hooks = &probeHooks{info: func() {
			if armed.Load() {
				panic("Info exploded")
			}
		}}
		update(t, r, m, clk, "bomb", h)
		armed.Store(true)
		require.PanicsWithValue(t, "Info exploded", func() { r.ListAll() })
		// Every other method, from another goroutine: none waits on a lock.
		require.Equal(t, "Info exploded", callGuarded(t, "ListOnline", func() { r.ListOnline() }))
		require.Equal(t, "Info exploded", callGuarded(t, "ListAvailable", func() { r.ListAvailable() }))
		require.Equal(t, "Info exploded", callGuarded(t, "Get", func() { r.Get("bomb") }))
		require.Nil(t, callGuarded(t, "the methods that do not call Info", func() {
			r.GetAllHeartbeats()
			r.Get("n1")
			r.IsOnline("bomb")
			r.CountOnline()
			r.CountAvailable()
			r.CountTotal()
			_ = r.Update(probeHB{id: "n1", seq: 1, seen: fzEpoch.Add(-3 * time.Second)}) // the same as stored
			r.CleanupStale()
		}))
		m.read(clk.peek())
		m.cleanup()
		armed.Store(false)
		requireUsable(t, r, m, clk)
	})

	t.Run("ID panics: nothing stored, nothing else called, no clock reading", func(t *testing.T) {
		r, m, clk := setup(t)
		var calls atomic.Int32
		h := hb("never", time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC))
		h.hooks = &probeHooks{
			id:    func() string { panic("ID exploded") },
			seen:  func() { calls.Add(1) },
			avail: func() { calls.Add(1) },
		}
		reads := clk.readings()
		require.Equal(t, "ID exploded", callGuarded(t, "Update", func() { _ = r.Update(h) }))
		require.Equal(t, reads, clk.readings())
		require.Zero(t, calls.Load())
		_, ok := r.Get("never")
		require.False(t, ok)
		requireUsable(t, r, m, clk)
	})

	t.Run("LastSeen panics: nothing stored", func(t *testing.T) {
		r, m, clk := setup(t)
		h := hb("n1", clk.peek()) // would replace a neighbour
		h.hooks = &probeHooks{seen: func() { panic("LastSeen exploded") }}
		require.Equal(t, "LastSeen exploded", callGuarded(t, "Update", func() { _ = r.Update(h) }))
		requireUsable(t, r, m, clk)
	})

	// Update reads the clock for a heartbeat dated beyond the allowance
	// before it calls IsAvailable; that reading stands (the registry's time
	// moves forward, as any query would move it), but nothing is stored.
	t.Run("IsAvailable panics: nothing stored, a reading taken stands", func(t *testing.T) {
		r, m, clk := setup(t)
		clk.advance(time.Minute) // unread so far
		h := hb("n2", clk.peek().Add(time.Hour))
		h.hooks = &probeHooks{avail: func() { panic("IsAvailable exploded") }}
		reads := clk.readings()
		require.Equal(t, "IsAvailable exploded", callGuarded(t, "Update", func() { _ = r.Update(h) }))
		require.Equal(t, reads+1, clk.readings())
		m.read(clk.peek())
		requireUsable(t, r, m, clk)
	})

	// Update calls ID once, and the value it returns is the key: the item is
	// stored, found, renewed and removed under that value, whatever ID
	// returns later. Info and the lists report what Info returns.
	t.Run("ID that changes on every call: the value seen at Update is the key", func(t *testing.T) {
		r, m, clk := setup(t)
		var calls atomic.Int32
		h := hb("shifty", clk.peek())
		var otherCalls atomic.Int32
		h.hooks = &probeHooks{
			id:    func() string { return fmt.Sprint("shifty-", calls.Add(1)) },
			seen:  func() { otherCalls.Add(1) },
			avail: func() { otherCalls.Add(1) },
		}
		require.NoError(t, r.Update(h))
		require.Equal(t, int32(1), calls.Load(), "Update calls ID once")
		require.Equal(t, int32(2), otherCalls.Load(), "and LastSeen and IsAvailable once each")
		m.items["shifty-1"] = refEntry{h, specAdd(specNanos(h.seen), int64(timeout))}
		require.NoError(t, r.Update(h))
		m.items["shifty-2"] = refEntry{h, specAdd(specNanos(h.seen), int64(timeout))}
		info, ok := r.Get("shifty-1")
		require.True(t, ok)
		require.Equal(t, rawInfo(h), info)
		require.True(t, r.IsOnline("shifty-2"))
		_, ok = r.Get("shifty-3")
		require.False(t, ok)
		requireModel(t, r, m, clk) // two stored items with equal Info: the lists show both
		h.hooks = &probeHooks{id: func() string { return "" }}
		require.ErrorIs(t, r.Update(h), heartbeat.ErrEmptyID, "an ID that turns empty is refused")
		require.True(t, r.Remove("shifty-1"))
		require.True(t, m.remove("shifty-1"))
		requireUsable(t, r, m, clk)
	})

	// The item's methods may call back into the registry: ID, LastSeen and
	// IsAvailable run before Update takes a lock, Info after every lock is
	// released. A method that took a lock around them would deadlock here.
	t.Run("methods that call back into the registry", func(t *testing.T) {
		r, m, clk := setup(t)
		var armed atomic.Bool
		reenter := func() {
			if armed.Load() {
				r.Get("n1")
				r.CountTotal()
				r.CountOnline()
				r.IsOnline("n2")
				r.GetAllHeartbeats()
				r.Remove("no-such-item")
			}
		}
		h := hb("reentrant", clk.peek())
		h.hooks = &probeHooks{
			id:    func() string { reenter(); return "reentrant" },
			seen:  reenter,
			avail: reenter,
			info:  reenter,
		}
		armed.Store(true)
		require.Nil(t, callGuarded(t, "re-entrant calls", func() {
			_ = r.Update(h)
			r.Get("reentrant")
			r.ListAll()
			r.ListOnline()
			r.ListAvailable()
		}))
		armed.Store(false)
		_, err := m.update("reentrant", h, clk.peek())
		require.NoError(t, err)
		requireUsable(t, r, m, clk)
	})

	// The clock is read before any lock is taken, so a clock that panics
	// fails the call that read it, and nothing else.
	t.Run("a clock that panics", func(t *testing.T) {
		r, m, clk := setup(t)
		clk.setHook(func() { panic("clock exploded") })
		for name, call := range map[string]func(){
			"IsOnline":       func() { r.IsOnline("n1") },
			"CountOnline":    func() { r.CountOnline() },
			"CountAvailable": func() { r.CountAvailable() },
			"ListAll":        func() { r.ListAll() },
			"ListOnline":     func() { r.ListOnline() },
			"ListAvailable":  func() { r.ListAvailable() },
			"GetAll":         func() { r.GetAllHeartbeats() },
			"CleanupStale":   func() { r.CleanupStale() },
			"Update dated beyond the allowance": func() {
				_ = r.Update(hb("ahead", clk.peek().Add(time.Hour)))
			},
		} {
			require.Equal(t, "clock exploded", callGuarded(t, name, call), name)
		}
		// What does not read the clock works.
		fresh := hb("fresh", clk.peek())
		require.Nil(t, callGuarded(t, "the methods that do not read the clock", func() {
			_ = r.Update(fresh)
			r.Get("n1")
			r.Remove("n3")
			r.CountTotal()
		}))
		_, err := m.update("fresh", fresh, clk.peek())
		require.NoError(t, err)
		m.remove("n3")
		clk.setHook(nil)
		requireUsable(t, r, m, clk)
	})

	t.Run("a clock that calls back into the registry", func(t *testing.T) {
		r, m, clk := setup(t)
		clk.setHook(func() {
			r.Get("n1") // methods that read no clock, or this would recurse
			r.CountTotal()
			r.Remove("no-such-item")
		})
		requireUsable(t, r, m, clk)
		clk.setHook(nil)
	})

	// A clock stuck at either end of time: at year 1 the registry's time is
	// MinInt64, and a heartbeat dated year 1 is online (its deadline,
	// MinInt64 + timeout, is after it); at year 9999 it is MaxInt64 and
	// nothing can be online.
	t.Run("a clock at either end of time", func(t *testing.T) {
		for _, at := range []time.Time{{}, time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)} {
			clk := newProbeClock(at)
			r := newProbeRegistry(clk, heartbeat.WithShards(2))
			m := newRefModel(timeout, heartbeat.DefaultMaxClockSkew, at)
			for i, seen := range []time.Time{{}, at, fzEpoch, time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)} {
				h := hb(fmt.Sprint("t", i), seen)
				update(t, r, m, clk, h.id, h)
			}
			requireModel(t, r, m, clk)
			requireUsable(t, r, m, clk)
		}
	})
}

// TestOptionLimits extends TestOptionsPanicClearly (registry_test.go) to the
// limits: the largest shard count is accepted and the next power of two is
// not, and absurd values panic with the same clear message or are accepted
// and saturate.
func TestOptionLimits(t *testing.T) {
	for _, tc := range []struct {
		name string
		opt  heartbeat.Option
		msg  string
	}{
		{"shards 1<<17", heartbeat.WithShards(1 << 17), "heartbeat: WithShards(131072): the shard count must be a power of two from 1 to 65536"},
		{"shards -1", heartbeat.WithShards(-1), "heartbeat: WithShards(-1): the shard count must be a power of two from 1 to 65536"},
		{"shards MinInt", heartbeat.WithShards(math.MinInt), fmt.Sprintf("heartbeat: WithShards(%d): the shard count must be a power of two from 1 to 65536", math.MinInt)},
		{"shards MaxInt", heartbeat.WithShards(math.MaxInt), fmt.Sprintf("heartbeat: WithShards(%d): the shard count must be a power of two from 1 to 65536", math.MaxInt)},
		{"shards 1<<62", heartbeat.WithShards(1 << 62), "heartbeat: WithShards(4611686018427387904): the shard count must be a power of two from 1 to 65536"},
		{"shards 65535", heartbeat.WithShards(1<<16 - 1), "heartbeat: WithShards(65535): the shard count must be a power of two from 1 to 65536"},
		{"timeout MinInt64", heartbeat.WithTimeout(math.MinInt64), "heartbeat: WithTimeout(-2562047h47m16.854775808s): the timeout must be positive"},
		{"timeout -1ns", heartbeat.WithTimeout(-1), "heartbeat: WithTimeout(-1ns): the timeout must be positive"},
		{"skew MinInt64", heartbeat.WithMaxClockSkew(math.MinInt64), "heartbeat: WithMaxClockSkew(-2562047h47m16.854775808s): the allowance must not be negative"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.PanicsWithValue(t, tc.msg, func() { heartbeat.New[probeHB](tc.opt) })
		})
	}

	// Options apply in order and are validated once, in New: a later option
	// overrides an invalid earlier one.
	require.NotPanics(t, func() { heartbeat.New[probeHB](heartbeat.WithShards(3), heartbeat.WithShards(4)) })

	// A nil Option is a programmer error like the others, but it panics with
	// a runtime error rather than a message of the registry's.
	require.Panics(t, func() { heartbeat.New[probeHB](nil) })

	for _, tc := range []struct {
		name          string
		shards        int
		timeout, skew time.Duration
	}{
		{"shards 1<<16 (the maximum: about 180 MB of shards)", 1 << 16, heartbeat.DefaultTimeout, heartbeat.DefaultMaxClockSkew},
		{"shards 1", 1, heartbeat.DefaultTimeout, heartbeat.DefaultMaxClockSkew},
		{"timeout 1ns", 4, 1, heartbeat.DefaultMaxClockSkew},
		{"timeout MaxInt64", 4, math.MaxInt64, heartbeat.DefaultMaxClockSkew},
		{"skew 0", 4, heartbeat.DefaultTimeout, 0},
		{"skew MaxInt64", 4, heartbeat.DefaultTimeout, math.MaxInt64},
	} {
		t.Run("accepts "+tc.name, func(t *testing.T) {
			clk := newProbeClock(fzEpoch)
			r := newProbeRegistry(clk, heartbeat.WithShards(tc.shards), heartbeat.WithTimeout(tc.timeout), heartbeat.WithMaxClockSkew(tc.skew))
			m := newRefModel(tc.timeout, tc.skew, fzEpoch)
			for i, seen := range []time.Time{fzEpoch, fzEpoch.Add(-time.Hour), fzEpoch.Add(time.Hour), fzEpoch.Add(-1)} {
				h := probeHB{id: fmt.Sprint("o", i), seq: uint64(i), seen: seen, avail: true}
				_, err := m.update(h.id, h, clk.peek())
				require.NoError(t, err)
				require.NoError(t, r.Update(h))
			}
			requireModel(t, r, m, clk)
			clk.advance(time.Minute)
			m.read(clk.peek())
			require.Equal(t, m.cleanup(), r.CleanupStale())
			requireModel(t, r, m, clk)
		})
	}
}

// TestFutureDatedHeartbeat: a sender whose clock runs ahead must not keep
// itself online for hours. A heartbeat dated more than the allowance ahead
// of the registry's time counts as dated now + allowance, so it is online
// for at most allowance + timeout; with no allowance, exactly until
// now + timeout. One dated within the allowance is taken at its word.
func TestFutureDatedHeartbeat(t *testing.T) {
	const timeout = heartbeat.DefaultTimeout
	for _, tc := range []struct {
		name        string
		skew        time.Duration
		ahead       time.Duration // of the heartbeat's LastSeen, from the clock
		onlineUntil time.Duration // from the clock at Update
	}{
		{"default allowance, 3h ahead", heartbeat.DefaultMaxClockSkew, 3 * time.Hour, heartbeat.DefaultMaxClockSkew + timeout},
		{"default allowance, 5s ahead: taken as is", heartbeat.DefaultMaxClockSkew, 5 * time.Second, 5*time.Second + timeout},
		{"default allowance, exactly 10s ahead", heartbeat.DefaultMaxClockSkew, heartbeat.DefaultMaxClockSkew, heartbeat.DefaultMaxClockSkew + timeout},
		{"default allowance, 10s+1ns ahead", heartbeat.DefaultMaxClockSkew, heartbeat.DefaultMaxClockSkew + 1, heartbeat.DefaultMaxClockSkew + timeout},
		{"no allowance, 3h ahead", 0, 3 * time.Hour, timeout},
		{"no allowance, 1ns ahead", 0, 1, timeout},
		{"1h allowance, 3h ahead", time.Hour, 3 * time.Hour, time.Hour + timeout},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// The clock has moved an hour since the registry last read it: the
			// allowance counts from a fresh reading, not from the stale one.
			for _, unread := range []time.Duration{0, time.Hour} {
				clk := newProbeClock(fzEpoch)
				r := newProbeRegistry(clk, heartbeat.WithMaxClockSkew(tc.skew), heartbeat.WithShards(2))
				clk.advance(unread)
				sent := clk.peek()
				require.NoError(t, r.Update(probeHB{id: "ahead", seen: sent.Add(tc.ahead), avail: true}))
				require.LessOrEqual(t, tc.onlineUntil, tc.skew+timeout, "never longer than allowance + timeout")
				clk.set(sent.Add(tc.onlineUntil - 1))
				require.True(t, r.IsOnline("ahead"), "unread %v: 1ns before", unread)
				require.Equal(t, 1, r.CountAvailable())
				require.Equal(t, 0, r.CleanupStale())
				clk.set(sent.Add(tc.onlineUntil))
				require.False(t, r.IsOnline("ahead"), "unread %v: at the deadline", unread)
				require.Equal(t, 0, r.CountOnline())
				require.Empty(t, r.ListOnline())
				require.Equal(t, 1, r.CleanupStale())
			}
		})
	}

	// A sender that keeps sending heartbeats dated 3 h ahead stays online
	// while it sends, and is stale allowance + timeout after its last one,
	// not 3 h later.
	t.Run("a steady sender 3h ahead", func(t *testing.T) {
		clk := newProbeClock(fzEpoch)
		r := newProbeRegistry(clk)
		for range 20 {
			require.NoError(t, r.Update(probeHB{id: "ahead", seen: clk.peek().Add(3 * time.Hour)}))
			clk.advance(30 * time.Second)
			require.True(t, r.IsOnline("ahead"))
			require.Equal(t, 0, r.CleanupStale())
		}
		last := clk.peek().Add(-30 * time.Second)
		clk.set(last.Add(heartbeat.DefaultMaxClockSkew + timeout - 1))
		require.Equal(t, 1, r.CountOnline())
		clk.set(last.Add(heartbeat.DefaultMaxClockSkew + timeout))
		require.Equal(t, 0, r.CountOnline())
		require.Equal(t, 1, r.CleanupStale())
	})
}

// TestClockBefore1970: the registry's time may lie before the Unix epoch (a
// fake clock started at an old date, a machine whose clock was reset, a
// replay of old data). Times are int64 nanoseconds, negative ones included,
// and items expire there exactly as they do after 1970.
func TestClockBefore1970(t *testing.T) {
	const timeout = time.Second
	for _, start := range []time.Time{
		time.Unix(-3600, 0).UTC(),                        // an hour before the epoch
		time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC),      // negative and large
		time.Unix(0, math.MinInt64).Add(time.Hour).UTC(), // near the lower end of int64
		time.Unix(0, -int64(timeout)/2).UTC(),            // crossing the epoch on the way
	} {
		t.Run(start.String(), func(t *testing.T) {
			clk := newProbeClock(start)
			r := newProbeRegistry(clk, heartbeat.WithShards(2), heartbeat.WithTimeout(timeout))
			m := newRefModel(timeout, heartbeat.DefaultMaxClockSkew, start)
			for _, h := range []probeHB{
				{id: "w0", seq: 1, seen: start, avail: true},
				{id: "w1", seq: 2, seen: start.Add(-timeout / 2), avail: true},
			} {
				_, err := m.update(h.id, h, clk.peek())
				require.NoError(t, err)
				require.NoError(t, r.Update(h))
			}
			requireModel(t, r, m, clk)
			clk.advance(timeout / 2) // w1's deadline
			require.False(t, r.IsOnline("w1"), "w1 is at its deadline")
			requireModel(t, r, m, clk)
			clk.advance(timeout/2 - 1) // 1 ns before w0's
			require.True(t, r.IsOnline("w0"))
			requireModel(t, r, m, clk)
			clk.advance(1)
			require.False(t, r.IsOnline("w0"), "w0 is at its deadline")
			require.Equal(t, 0, r.CountOnline())
			require.Equal(t, 2, r.CleanupStale())
			require.Equal(t, 0, r.CountTotal())
		})
	}
}

// TestClockJumpsForward jumps the clock by an hour to 250 years (past
// 2262, where the registry's time saturates) over items whose deadlines lie
// before the jump's target (they expire) or well after it (they survive).
// Answers must match the model, and the work is bounded by what expired:
// each expired item is visited once, plus a bounded number of survivors
// re-filed (those waiting in the wheel's overflow slot, for jumps beyond
// its 208-day reach) and of boundary-slot looks; never the time skipped.
func TestClockJumpsForward(t *testing.T) {
	const (
		expiring  = 3000
		surviving = 1000
		shards    = 4
	)
	for _, jump := range []time.Duration{time.Hour, 24 * time.Hour, 30 * 24 * time.Hour, 365 * 24 * time.Hour, 250 * 365 * 24 * time.Hour} {
		for _, timeout := range []time.Duration{heartbeat.DefaultTimeout, 400 * 24 * time.Hour} {
			t.Run(fmt.Sprintf("jump=%v/timeout=%v", jump, timeout), func(t *testing.T) {
				clk := newProbeClock(fzEpoch)
				// No allowance limit: items are dated up to a jump ahead, so
				// that deadlines spread over every level of the wheel
				// whatever the timeout.
				r := newProbeRegistry(clk, heartbeat.WithShards(shards), heartbeat.WithTimeout(timeout), heartbeat.WithMaxClockSkew(math.MaxInt64))
				m := newRefModel(timeout, math.MaxInt64, fzEpoch)
				target := fzEpoch.Add(jump)
				var seq uint64
				add := func(id string, deadline time.Time) {
					seq++
					h := probeHB{id: id, seq: seq, seen: deadline.Add(-timeout), avail: seq%2 == 0}
					_, err := m.update(id, h, clk.peek())
					require.NoError(t, err)
					require.NoError(t, r.Update(h))
				}
				for i := range expiring { // deadlines spread over (now, target], the last one exactly at it
					add(fmt.Sprint("e", i), fzEpoch.Add(jump/expiring*time.Duration(i+1)+jump%expiring))
				}
				survivors := 0
				if specNanos(target) < math.MaxInt64 {
					survivors = surviving
					for i := range survivors { // deadlines spread over [target + jump, target + 2 jump)
						add(fmt.Sprint("s", i), target.Add(jump+jump/surviving*time.Duration(i)))
					}
				}
				requireModel(t, r, m, clk) // the wheel runs once at the start

				v0, f0 := r.WheelWork()
				clk.set(target)
				requireModel(t, r, m, clk) // counts first: they move the expired aside
				expired := len(m.items) - m.count(m.online)
				require.Equal(t, expiring, expired)
				require.Equal(t, expired, r.CleanupStale())
				m.cleanup()
				v1, f1 := r.WheelWork()
				visited, refiled := v1-v0, f1-f0
				t.Logf("expired %d, survivors %d: visited %d, of which re-filed %d", expired, survivors, visited, refiled)
				// Each survivor's slot falls due at most once per 208 days of
				// jump while it waits in the overflow slot, and not at all
				// otherwise; a boundary slot holds what the level-0 slot at
				// the target holds, here at most a few items per shard.
				maxRefiles := survivors * int(jump/(200*24*time.Hour))
				require.LessOrEqual(t, refiled, maxRefiles, "re-filed")
				require.LessOrEqual(t, visited, expired+refiled+4*shards, "visited")
				requireModel(t, r, m, clk)
				v2, _ := r.WheelWork()
				require.Equal(t, 0, r.CleanupStale())
				v3, _ := r.WheelWork()
				require.LessOrEqual(t, v3-v2, 4*shards, "a second cleanup with nothing due")
			})
		}
	}
}

// TestClockGoesBackwards extends TestClockJumps (registry_test.go): the
// clock steps back by seconds, hours, to 1970 and to year 1, and oscillates,
// with renewals and cleanups meanwhile. The registry's time stands still
// until the clock catches up: nothing expires early, nothing stale comes
// back, and a cleanup while time stands still visits no item. A heartbeat
// dated by the rewound clock is old by the registry's time, and is judged
// so (it may be stale on arrival): LastSeen is the sender's word.
func TestClockGoesBackwards(t *testing.T) {
	const timeout = 10 * time.Second
	for _, tc := range []struct {
		name string
		to   time.Duration // from the clock's time
	}{
		{"1s", -time.Second}, {"1h", -time.Hour}, {"to 1970", -fzEpoch.Sub(time.Unix(0, 0))},
		{"to year 1", 0}, // set below: too far for a Duration
	} {
		t.Run("back "+tc.name, func(t *testing.T) {
			clk := newProbeClock(fzEpoch)
			r := newProbeRegistry(clk, heartbeat.WithShards(4), heartbeat.WithTimeout(timeout))
			m := newRefModel(timeout, heartbeat.DefaultMaxClockSkew, fzEpoch)
			var seq uint64
			add := func(id string, seen time.Time) {
				seq++
				h := probeHB{id: id, seq: seq, seen: seen, avail: seq%3 != 0}
				_, err := m.update(id, h, clk.peek())
				require.NoError(t, err)
				require.NoError(t, r.Update(h))
			}
			for i := range 500 { // deadlines every 20 ms over the next 10 s
				add(fmt.Sprint("w", i), fzEpoch.Add(-time.Duration(i)*20*time.Millisecond))
			}
			clk.advance(3 * time.Second)
			requireModel(t, r, m, clk)
			stale := len(m.items) - m.count(m.online)
			require.Positive(t, stale)
			high := clk.peek() // the registry's time from here

			if tc.to != 0 {
				clk.advance(tc.to)
			} else {
				clk.set(time.Time{})
			}
			back := high.Sub(clk.peek()) // saturates at about 292 years
			v0, _ := r.WheelWork()
			requireModel(t, r, m, clk) // nothing changes: the model's time stands still too
			require.Equal(t, stale, len(m.items)-m.count(m.online))
			require.Equal(t, stale, r.CleanupStale(), "exactly those stale before the step back")
			m.cleanup()
			add("rewound", clk.peek()) // dated by the rewound clock
			add("w499", high)          // a renewal dated by the registry's time
			requireModel(t, r, m, clk)
			require.Equal(t, back < timeout, r.IsOnline("rewound"), "a heartbeat dated %v before the registry's time", back)
			require.Equal(t, m.cleanup(), r.CleanupStale())
			v1, _ := r.WheelWork()
			require.Equal(t, v0, v1, "while time stands still the wheel visits no item (the counts at the step back moved the stale aside)")
			for range 3 { // the clock creeps forward but stays behind: time stands still
				clk.advance(back / 4)
				require.Equal(t, 0, r.CleanupStale())
				requireModel(t, r, m, clk)
			}
			v2, _ := r.WheelWork()
			require.Equal(t, v1, v2, "a cleanup while time stands still visits no item")

			// Back to where it was, then forward to each remaining deadline:
			// online 1 ns before it, stale at it.
			clk.set(high)
			requireModel(t, r, m, clk)
			for _, id := range []string{"w100", "w0", "w499"} {
				d := time.Unix(0, m.items[id].deadline)
				clk.set(d.Add(-1))
				require.True(t, r.IsOnline(id), "%s 1ns before its deadline", id)
				requireModel(t, r, m, clk)
				clk.set(d)
				require.False(t, r.IsOnline(id), "%s at its deadline", id)
				requireModel(t, r, m, clk)
				m.read(clk.peek())
				require.Equal(t, m.cleanup(), r.CleanupStale())
			}
		})
	}

	// An oscillating clock, as under a confused time sync: ±50 ms jitter
	// around a slow forward drift, with renewals dated by the clock.
	t.Run("oscillating", func(t *testing.T) {
		clk := newProbeClock(fzEpoch)
		r := newProbeRegistry(clk, heartbeat.WithShards(2), heartbeat.WithTimeout(200*time.Millisecond))
		m := newRefModel(200*time.Millisecond, heartbeat.DefaultMaxClockSkew, fzEpoch)
		rng := rand.New(rand.NewPCG(5, 6))
		base := fzEpoch
		var seq uint64
		for step := range 400 {
			base = base.Add(10 * time.Millisecond)
			clk.set(base.Add(time.Duration(rng.IntN(101)-50) * time.Millisecond))
			for range 3 {
				seq++
				h := probeHB{id: fmt.Sprint("o", rng.IntN(30)), seq: seq, seen: clk.peek(), avail: rng.IntN(2) == 0}
				_, err := m.update(h.id, h, clk.peek())
				require.NoError(t, err)
				require.NoError(t, r.Update(h))
			}
			if step%5 == 0 {
				m.read(clk.peek())
				require.Equal(t, m.cleanup(), r.CleanupStale(), "step %d", step)
			}
			requireModel(t, r, m, clk)
		}
	})
}
