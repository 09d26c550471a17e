package main

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/heartbeat-registry/heartbeat"
)

// WorkerInfo is what the registry's queries return for a worker.
type WorkerInfo struct {
	ID        string
	Node      string
	Model     string
	LastSeen  time.Time // when the worker sent the heartbeat, on the simulated clock
	Available bool      // idle and ready for a job
}

// WorkerHeartbeat is one heartbeat: the worker's WorkerInfo as it was sent.
// Value receivers and a value type keep Update free of allocation.
type WorkerHeartbeat struct{ Worker WorkerInfo }

func (h WorkerHeartbeat) ID() string          { return h.Worker.ID }
func (h WorkerHeartbeat) Info() WorkerInfo    { return h.Worker }
func (h WorkerHeartbeat) IsAvailable() bool   { return h.Worker.Available }
func (h WorkerHeartbeat) LastSeen() time.Time { return h.Worker.LastSeen }

// registry is the registry the demo drives.
type registry = heartbeat.Registry[WorkerHeartbeat, WorkerInfo]

// never is a simulated time that does not come: when a worker dies if
// -death-rate is 0, when a dead one comes back if -revive-rate is 0.
const never = time.Duration(math.MaxInt64)

// jitterPercent is how far, either way, each interval strays from the
// worker's period, so that workers started together drift apart.
const jitterPercent = 10

// gpuModels are the Model values workers report, one per node.
var gpuModels = []string{"A100", "H100", "L40S", "MI300X"}

// workersPerNode is how many workers (one per GPU) share a node name.
const workersPerNode = 8

// worker is the simulator's view of one fleet member: what it will report
// and when its life changes. Only its writer touches it during the run.
type worker struct {
	info    WorkerInfo // its next heartbeat; LastSeen is its last one, zero if none
	period  time.Duration
	alive   bool
	deathAt time.Duration // while alive: when it dies, in simulated time since the start
	flipAt  time.Duration // when its availability next flips
}

// event is a worker's next action: a heartbeat if it is alive, its revival
// if it is dead. Every worker has exactly one event pending at all times.
type event struct {
	at     time.Duration // simulated time since the start
	worker int32         // index into the writer's workers
}

// schedule is a binary min-heap of events by time. Because every worker
// always has one pending event, the only operation needed is to move the
// earliest event to its worker's next time: no push, no pop, no allocation.
type schedule []event

func (s schedule) init() {
	for i := len(s)/2 - 1; i >= 0; i-- {
		s.down(i)
	}
}

// reschedule moves the earliest event to time at.
func (s schedule) reschedule(at time.Duration) {
	s[0].at = at
	s.down(0)
}

func (s schedule) down(i int) {
	for {
		c := 2*i + 1
		if c >= len(s) {
			return
		}
		if r := c + 1; r < len(s) && s[r].at < s[c].at {
			c = r
		}
		if s[i].at <= s[c].at {
			return
		}
		s[i], s[c] = s[c], s[i]
		i = c
	}
}

// fleetStats are the totals the progress line reads while writers run.
// Writers add to them once per batch, not once per heartbeat, so that they
// do not contend for them in the hot loop.
type fleetStats struct {
	beats, died, revived atomic.Int64
}

// Pauses between a writer's batches, in wall time. The minimum stops a
// writer from waking for every single due heartbeat (a batch is at least a
// millisecond of wall time, -speed milliseconds simulated); the maximum
// bounds the wait when nothing is due soon.
const (
	minPause = time.Millisecond
	maxPause = 100 * time.Millisecond
)

// maxBatch bounds the heartbeats a writer sends between two readings of the
// clock. In a writer that keeps up, a batch is a few hundred; one that has
// fallen behind still stamps its heartbeats with a fresh time, updates the
// progress figures smoothly, and notices the end of the run promptly.
const maxBatch = 1024

// writer sends the heartbeats of its share of the fleet, in order of time.
type writer struct {
	cfg     *config // its churn rates are per simulated minute
	rng     *rand.Rand
	stats   *fleetStats
	workers []worker
	sched   schedule
	maxLag  time.Duration // how late a heartbeat was sent at worst, simulated
}

// newWriter builds the workers first..first+n-1 of the fleet, alive, each
// with a period drawn from -min-interval to -max-interval, its first
// heartbeat at a random point of its first period (so the fleet comes up
// staggered, not in one burst), and a random availability. Its random
// stream depends on the seed and the writer's index only.
func newWriter(cfg *config, stats *fleetStats, index, first, n int) *writer {
	w := &writer{
		cfg:     cfg,
		rng:     rand.New(rand.NewPCG(cfg.seed, uint64(index))),
		stats:   stats,
		workers: make([]worker, n),
		sched:   make(schedule, n),
	}
	for i := range w.workers {
		id := first + i
		node := id / workersPerNode
		period := cfg.minInterval + time.Duration(w.rng.Int64N(int64(cfg.maxInterval-cfg.minInterval)+1))
		w.workers[i] = worker{
			info: WorkerInfo{
				ID:        fmt.Sprintf("worker-%07d", id),
				Node:      fmt.Sprintf("node-%06d", node),
				Model:     gpuModels[node%len(gpuModels)],
				Available: w.rng.IntN(2) == 0,
			},
			period:  period,
			alive:   true,
			deathAt: w.after(0, cfg.deathRate),
			flipAt:  w.after(0, cfg.flipRate),
		}
		w.sched[i] = event{at: time.Duration(w.rng.Int64N(int64(period))), worker: int32(i)}
	}
	w.sched.init()
	return w
}

// after returns the time of the next event of a Poisson process with the
// given rate per simulated minute, from t on: t plus an exponential draw, or
// never for a rate of 0.
func (w *writer) after(t time.Duration, perMinute float64) time.Duration {
	if perMinute <= 0 {
		return never
	}
	d := w.rng.ExpFloat64() / perMinute * float64(time.Minute)
	if d >= float64(never-t) {
		return never
	}
	return t + time.Duration(d)
}

// run sends heartbeats to reg as they fall due on clock, until ctx is done.
func (w *writer) run(ctx context.Context, reg *registry, clock *simClock) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		now := clock.Elapsed()
		if more := w.batch(reg, now, clock.At(now)); more {
			if ctx.Err() != nil {
				return
			}
			continue // behind schedule: no pause
		}
		wait := min(max(clock.Real(w.sched[0].at-now), minPause), maxPause)
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
	}
}

// batch handles up to maxBatch events due at simulated time now, the
// instant seen, sending the heartbeats to reg, and reports whether more are
// due. It allocates nothing.
func (w *writer) batch(reg *registry, now time.Duration, seen time.Time) (more bool) {
	var beats, died, revived int64
	for range maxBatch {
		ev := w.sched[0]
		if ev.at > now {
			break
		}
		w.maxLag = max(w.maxLag, now-ev.at)
		k := &w.workers[ev.worker]
		if !k.alive {
			k.alive = true
			k.deathAt = w.after(now, w.cfg.deathRate)
			revived++
		}
		// A worker that was busy for several flips since its last
		// heartbeat reports only where it ended up.
		for k.flipAt <= now {
			k.info.Available = !k.info.Available
			k.flipAt = w.after(k.flipAt, w.cfg.flipRate)
		}
		k.info.LastSeen = seen
		if err := reg.Update(WorkerHeartbeat{k.info}); err != nil {
			panic(err) // only an empty ID is refused, and every ID was built non-empty
		}
		beats++

		jitter := k.period * jitterPercent / 100
		next := now + k.period - jitter + time.Duration(w.rng.Int64N(int64(2*jitter)+1))
		if k.deathAt < next {
			// It dies before its next heartbeat: this one was its last.
			// From the registry's side, a death anywhere in the gap looks
			// the same; its downtime counts from the death, or from now if
			// the death was due before this (late or first) heartbeat.
			k.alive = false
			next = w.after(max(k.deathAt, now), w.cfg.reviveRate)
			died++
		}
		w.sched.reschedule(next)
	}
	w.stats.beats.Add(beats)
	w.stats.died.Add(died)
	w.stats.revived.Add(revived)
	return w.sched[0].at <= now
}
