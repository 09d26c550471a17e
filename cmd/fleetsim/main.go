// Command fleetsim is the demo of the heartbeat registry: it simulates a
// fleet of workers heartbeating into one heartbeat.Registry and shows, once
// per second, what the registry sees and what keeping it tidy costs.
//
// Every worker heartbeats at its own period, drawn from -min-interval to
// -max-interval, with ±10% jitter. Workers die at random (-death-rate), some
// come back (-revive-rate), and each one's availability flips as it takes
// and finishes jobs (-flip-rate). A few writer goroutines (-writers) send all
// the heartbeats, each working through a time-ordered schedule of its share
// of the fleet: no goroutine per worker. A janitor goroutine calls
// CleanupStale every -cleanup to remove workers that have gone stale.
//
// Time is simulated and runs -speed times faster than the wall clock; the
// registry reads it through heartbeat.WithClock. So with the defaults, 5
// seconds of wall time are 50 simulated seconds, long enough for dead
// workers to miss three heartbeats, pass the 15-second timeout and be
// removed, which a real-time run would take minutes to show.
//
// At the end fleetsim freezes the simulated clock and checks the registry
// against what the simulator knows: exactly the workers whose last heartbeat
// is younger than the timeout are online, the counts equal the lengths of
// the lists, and a last cleanup leaves only online workers stored. It exits
// with status 1 if any of that fails.
//
// Examples:
//
//	go run ./cmd/fleetsim
//	go run ./cmd/fleetsim -workers 1000000 -speed 1 -duration 20s
//	go run ./cmd/fleetsim -speed 1 -timeout 90s -duration 2m
//	go run ./cmd/fleetsim -death-rate 0.5 -revive-rate 0
//	go run -race ./cmd/fleetsim -workers 2000 -duration 2s
package main

import (
	"context"
	"flag"
	"fmt"
	"math"
	"os"
	"os/signal"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/heartbeat-registry/heartbeat"
)

// config is the command line.
type config struct {
	workers, writers, shards        int
	minInterval, maxInterval        time.Duration // simulated
	timeout, cleanup                time.Duration // simulated
	duration                        time.Duration // wall
	speed                           float64
	deathRate, reviveRate, flipRate float64 // per simulated minute
	seed                            uint64
}

// maxSimulated bounds how much simulated time a run may cover, well inside
// the 292 years a time.Duration holds.
const maxSimulated = 100 * 365 * 24 * time.Hour

const usageText = `fleetsim simulates a fleet of workers heartbeating into a heartbeat.Registry.

Usage: go run ./cmd/fleetsim [flags]

Each worker heartbeats at its own period, drawn from -min-interval to
-max-interval, each heartbeat jittered by ±10%. Workers die at random and
stop heartbeating (-death-rate), some come back (-revive-rate), and their
availability flips as they take and finish jobs (-flip-rate). -writers
goroutines send the heartbeats; a janitor calls CleanupStale every -cleanup.

Time is simulated and runs -speed times faster than the wall clock (the
registry reads it through heartbeat.WithClock). -duration is wall time;
every other duration is simulated. The defaults, 5s at 10x with a 15s
timeout (three missed 5s heartbeats, as the library's 90s default is three
missed 30s ones), make 50 simulated seconds, long enough for dead workers
to go stale and be removed within the run. For real time, pass
-speed 1 -timeout 90s and a -duration of minutes.

Once a second it prints: wall and simulated time elapsed, heartbeats per
wall second, workers online, available and in total (stale ones included,
until cleaned up), workers the simulator has down, stale workers removed so
far, and the last and longest CleanupStale call. At the end it prints a
summary and checks the registry against the simulator at one frozen
instant; it exits with status 1 if they disagree, 2 on a bad flag.

Examples:
  go run ./cmd/fleetsim
  go run ./cmd/fleetsim -workers 1000000 -speed 1 -duration 20s
  go run ./cmd/fleetsim -speed 1 -timeout 90s -duration 2m
  go run ./cmd/fleetsim -death-rate 0.5 -revive-rate 0     # a die-off
  go run -race ./cmd/fleetsim -workers 2000 -duration 2s

Flags:
`

func parseFlags() *config {
	var cfg config
	fs := flag.CommandLine
	fs.IntVar(&cfg.workers, "workers", 100_000, "number of workers in the fleet")
	fs.IntVar(&cfg.writers, "writers", 0,
		fmt.Sprintf("goroutines sending heartbeats, each for its share of the fleet; 0 for\nGOMAXPROCS (%d here)", runtime.GOMAXPROCS(0)))
	fs.DurationVar(&cfg.minInterval, "min-interval", time.Second,
		"shortest heartbeat period of a worker, simulated")
	fs.DurationVar(&cfg.maxInterval, "max-interval", 5*time.Second,
		"longest heartbeat period of a worker, simulated; keep it (plus 10% jitter) under\n-timeout, or live workers flap offline")
	fs.DurationVar(&cfg.timeout, "timeout", 15*time.Second,
		"how long a heartbeat keeps a worker online (heartbeat.WithTimeout), simulated;\nthe library's default, 90s, is too long for dead workers to go stale in a\nshort run")
	fs.DurationVar(&cfg.cleanup, "cleanup", time.Second,
		"how often the janitor calls CleanupStale, simulated; at -speed 10, 1s is every\n100ms of wall time")
	fs.Float64Var(&cfg.speed, "speed", 10,
		"how many times faster than the wall clock simulated time runs; 1 for real\ntime")
	fs.DurationVar(&cfg.duration, "duration", 5*time.Second,
		"how long to run, in wall time; Ctrl-C ends the run early, still with the\nsummary and the check")
	fs.Float64Var(&cfg.deathRate, "death-rate", 0.01,
		"deaths per live worker per simulated minute: 0.01 kills about 1% of the\nfleet a minute")
	fs.Float64Var(&cfg.reviveRate, "revive-rate", 1,
		"revivals per dead worker per simulated minute: at 1 a dead worker is down a\nminute on average, so some come back before they go stale, some after\nthey are removed, and some not within the run; 0 for never")
	fs.Float64Var(&cfg.flipRate, "flip-rate", 2,
		"availability flips per worker per simulated minute (jobs taken and finished);\nabout half the fleet is available at any time")
	fs.IntVar(&cfg.shards, "shards", 0,
		"lock stripes of the registry (heartbeat.WithShards): a power of two up to\n65536, or 0 for the library's default")
	fs.Uint64Var(&cfg.seed, "seed", 1,
		"seed of the random periods, jitter and churn; the wall clock's timing still\nvaries from run to run")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usageText)
		fs.PrintDefaults()
	}
	flag.Parse()
	if fs.NArg() > 0 {
		usageError("unexpected argument %q", fs.Arg(0))
	}

	switch {
	case cfg.workers < 1 || cfg.workers > math.MaxInt32:
		usageError("-workers %d: want 1 to %d", cfg.workers, math.MaxInt32)
	case cfg.writers < 0:
		usageError("-writers %d: want 0 (GOMAXPROCS) or more", cfg.writers)
	case cfg.minInterval <= 0:
		usageError("-min-interval %v: want a positive duration", cfg.minInterval)
	case cfg.maxInterval < cfg.minInterval:
		usageError("-max-interval %v: want at least -min-interval (%v)", cfg.maxInterval, cfg.minInterval)
	case cfg.timeout <= 0:
		usageError("-timeout %v: want a positive duration", cfg.timeout)
	case cfg.cleanup <= 0:
		usageError("-cleanup %v: want a positive duration", cfg.cleanup)
	case cfg.duration <= 0:
		usageError("-duration %v: want a positive duration", cfg.duration)
	case !(cfg.speed > 0) || float64(cfg.duration)*cfg.speed > float64(maxSimulated):
		usageError("-speed %v: want a positive factor that keeps -duration under 100 years simulated", cfg.speed)
	case !(cfg.deathRate >= 0) || !(cfg.reviveRate >= 0) || !(cfg.flipRate >= 0):
		usageError("-death-rate, -revive-rate and -flip-rate: want rates of 0 or more")
	case cfg.shards != 0 && (cfg.shards < 1 || cfg.shards > 1<<16 || cfg.shards&(cfg.shards-1) != 0):
		usageError("-shards %d: want 0 or a power of two from 1 to 65536", cfg.shards)
	}
	if cfg.writers == 0 {
		cfg.writers = runtime.GOMAXPROCS(0)
	}
	// A writer with no workers would have nothing to schedule.
	cfg.writers = min(cfg.writers, cfg.workers)
	return &cfg
}

func usageError(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "fleetsim: "+format+"\n", args...)
	fmt.Fprintln(os.Stderr, "Run fleetsim -h for usage.")
	os.Exit(2)
}

func main() {
	os.Exit(run(parseFlags()))
}

// run runs the simulation and returns the exit status.
func run(cfg *config) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	// Build the fleet before starting the clock, so that building 10^5
	// IDs does not count as the writers falling behind.
	var stats fleetStats
	writers := make([]*writer, cfg.writers)
	for i := range writers {
		first, end := i*cfg.workers/cfg.writers, (i+1)*cfg.workers/cfg.writers
		writers[i] = newWriter(cfg, &stats, i, first, end-first)
	}

	clock := newSimClock(cfg.speed)
	opts := []heartbeat.Option{heartbeat.WithClock(clock.Now), heartbeat.WithTimeout(cfg.timeout)}
	shards := "library default"
	if cfg.shards > 0 {
		opts = append(opts, heartbeat.WithShards(cfg.shards))
		shards = fmt.Sprint(cfg.shards)
	}
	reg := heartbeat.New[WorkerHeartbeat](opts...)
	printHeader(cfg, shards)

	runCtx, cancel := context.WithTimeout(ctx, cfg.duration)
	defer cancel()
	var wg sync.WaitGroup
	for _, w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.run(runCtx, reg, clock)
		}()
	}
	j := &janitor{reg: reg}
	wg.Add(1)
	go func() {
		defer wg.Done()
		j.run(runCtx, clock.Real(cfg.cleanup))
	}()
	report(runCtx, reg, clock, &stats, j)
	wg.Wait()

	interrupted := ctx.Err() != nil
	stop() // from here on, a second Ctrl-C kills the process as usual
	end := clock.Freeze()
	wall := clock.WallElapsed()
	if interrupted {
		fmt.Println("interrupted: the run ends early")
	}
	printSummary(cfg, reg, writers, &stats, j, wall, end)
	if !checkRegistry(cfg, reg, clock, writers, end) {
		return 1
	}
	return 0
}

// janitor removes stale workers periodically and keeps the figures the
// progress line and summary show. It is the only writer of its figures; the
// atomics let the reporter read them while it runs.
type janitor struct {
	reg                  *registry
	removed, runs        atomic.Int64
	last, longest, total atomic.Int64 // CleanupStale's wall time, in nanoseconds
}

func (j *janitor) run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		start := time.Now()
		n := j.reg.CleanupStale()
		d := int64(time.Since(start))
		j.removed.Add(int64(n))
		j.runs.Add(1)
		j.last.Store(d)
		j.total.Add(d)
		if d > j.longest.Load() {
			j.longest.Store(d)
		}
	}
}

// expectedRate returns the heartbeats per wall second the fleet sends when
// the writers keep up: a worker's rate is 1/period, and the mean of 1/p for
// p uniform on [a, b] is ln(b/a)/(b-a).
func expectedRate(cfg *config) float64 {
	a, b := cfg.minInterval.Seconds(), cfg.maxInterval.Seconds()
	perWorker := 1 / a
	if b > a {
		perWorker = math.Log(b/a) / (b - a)
	}
	return float64(cfg.workers) * perWorker * cfg.speed
}

func printHeader(cfg *config, shards string) {
	fmt.Printf("fleetsim: %d workers heartbeating every %v to %v (±%d%%), timeout %v, cleanup every %v\n",
		cfg.workers, cfg.minInterval, cfg.maxInterval, jitterPercent, cfg.timeout, cfg.cleanup)
	fmt.Printf("          %d writers, shards: %s; simulated time at %gx: %v of wall time is %v simulated\n",
		cfg.writers, shards, cfg.speed, cfg.duration, time.Duration(float64(cfg.duration)*cfg.speed))
	fmt.Printf("          expect about %.0f heartbeats/s once the fleet is up; seed %d\n\n",
		expectedRate(cfg), cfg.seed)
	fmt.Printf("%6s %8s %9s %8s %9s %8s %6s %8s  %s\n",
		"wall", "sim", "beats/s", "online", "available", "total", "down", "removed", "cleanup last / max")
}

// report prints the progress line once per wall second until ctx is done,
// and once more then, for the last part of a second, unless that part is
// too short to give a meaningful rate.
func report(ctx context.Context, reg *registry, clock *simClock, stats *fleetStats, j *janitor) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	var lastBeats int64
	lastWall := time.Duration(0)
	for done := false; !done; {
		select {
		case <-ctx.Done():
			done = true
		case <-t.C:
		}
		wall, sim := clock.WallElapsed(), clock.Elapsed()
		if done && wall-lastWall < 100*time.Millisecond {
			return
		}
		beats := stats.beats.Load()
		rate := float64(beats-lastBeats) / (wall - lastWall).Seconds()
		lastBeats, lastWall = beats, wall
		fmt.Printf("%5.1fs %7.1fs %9.0f %8d %9d %8d %6d %8d  %8v / %v\n",
			wall.Seconds(), sim.Seconds(), rate,
			reg.CountOnline(), reg.CountAvailable(), reg.CountTotal(),
			stats.died.Load()-stats.revived.Load(), j.removed.Load(),
			round(j.last.Load()), round(j.longest.Load()))
	}
}

// round makes a duration in nanoseconds readable: three significant
// digits or so.
func round(ns int64) time.Duration {
	d := time.Duration(ns)
	switch {
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond)
	case d >= 10*time.Microsecond:
		return d.Round(time.Microsecond)
	}
	return d.Round(100 * time.Nanosecond)
}

func printSummary(cfg *config, reg *registry, writers []*writer, stats *fleetStats, j *janitor, wall, sim time.Duration) {
	var lag time.Duration
	for _, w := range writers {
		lag = max(lag, w.maxLag)
	}
	beats := stats.beats.Load()
	runs := max(j.runs.Load(), 1) // keeps the average defined when no cleanup ran
	fmt.Printf("\nsummary: %.1fs of wall time, %.1fs simulated (%gx)\n", wall.Seconds(), sim.Seconds(), cfg.speed)
	fmt.Printf("  heartbeats  %d sent, %.0f/s on average; writers at worst %v behind schedule, simulated\n",
		beats, float64(beats)/wall.Seconds(), lag.Round(time.Millisecond))
	fmt.Printf("  churn       %d died, %d revived, %d down at the end\n",
		stats.died.Load(), stats.revived.Load(), stats.died.Load()-stats.revived.Load())
	fmt.Printf("  registry    %d online, %d available, %d in total\n",
		reg.CountOnline(), reg.CountAvailable(), reg.CountTotal())
	fmt.Printf("  janitor     %d stale removed in %d cleanups; a cleanup took %v on average, %v at most\n",
		j.removed.Load(), j.runs.Load(), round(j.total.Load()/runs), round(j.longest.Load()))
}

// checkRegistry compares the registry with the simulator at the frozen
// simulated time end, prints the verdict and reports whether they agree.
// The writers have stopped, so their workers can be read.
func checkRegistry(cfg *config, reg *registry, clock *simClock, writers []*writer, end time.Duration) bool {
	now := clock.At(end)
	var problems []string
	fail := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	var wantOnline, wantAvailable, alive, aliveOffline, notStarted, wrong int
	for _, w := range writers {
		for i := range w.workers {
			k := &w.workers[i]
			// The registry's rule: online while now < LastSeen + timeout.
			online := !k.info.LastSeen.IsZero() && now.Before(k.info.LastSeen.Add(cfg.timeout))
			if online {
				wantOnline++
				if k.info.Available {
					wantAvailable++
				}
			}
			switch {
			case k.info.LastSeen.IsZero():
				notStarted++ // its first heartbeat is still ahead in its schedule
			case k.alive:
				alive++
				if !online {
					aliveOffline++
				}
			}
			if reg.IsOnline(k.info.ID) != online {
				wrong++
				if wrong <= 5 {
					fail("IsOnline(%q) = %v, want %v (last heartbeat at %v simulated)",
						k.info.ID, !online, online, k.info.LastSeen.Sub(simEpoch).Round(time.Millisecond))
				}
				continue
			}
			if !online {
				continue
			}
			got, ok := reg.Get(k.info.ID)
			if !ok || !got.LastSeen.Equal(k.info.LastSeen) || got.Available != k.info.Available {
				wrong++
				if wrong <= 5 {
					fail("Get(%q) = %+v, %v; want %+v", k.info.ID, got, ok, k.info)
				}
			}
		}
	}
	if wrong > 5 {
		fail("... %d workers disagree in all", wrong)
	}

	countOnline, listOnline := reg.CountOnline(), len(reg.ListOnline())
	if countOnline != wantOnline || listOnline != wantOnline {
		fail("CountOnline() = %d, len(ListOnline()) = %d; the simulator has %d workers online",
			countOnline, listOnline, wantOnline)
	}
	countAvailable, listAvailable := reg.CountAvailable(), len(reg.ListAvailable())
	if countAvailable != wantAvailable || listAvailable != wantAvailable {
		fail("CountAvailable() = %d, len(ListAvailable()) = %d; the simulator has %d workers available",
			countAvailable, listAvailable, wantAvailable)
	}
	stored, listAll := reg.CountTotal(), len(reg.ListAll())
	if stored != listAll || stored < wantOnline || stored > cfg.workers {
		fail("CountTotal() = %d, len(ListAll()) = %d; want equal, from %d online to %d workers",
			stored, listAll, wantOnline, cfg.workers)
	}
	// What is stored but not online is stale: one more cleanup removes
	// exactly that and leaves the online workers.
	removed := reg.CleanupStale()
	if removed != stored-wantOnline || reg.CountTotal() != wantOnline {
		fail("CleanupStale() removed %d of %d stored, leaving %d; want %d online left",
			removed, stored, reg.CountTotal(), wantOnline)
	}

	if len(problems) > 0 {
		fmt.Fprintln(os.Stderr, "\ncheck FAILED: the registry disagrees with the simulator:")
		for _, p := range problems {
			fmt.Fprintln(os.Stderr, "  "+p)
		}
		return false
	}
	fmt.Printf("\ncheck OK at %.1fs simulated: the registry agrees with the simulator\n", end.Seconds())
	fmt.Printf("  online      %d: CountOnline = len(ListOnline) = workers heartbeating within %v, each IsOnline with Get's last heartbeat\n",
		wantOnline, cfg.timeout)
	fmt.Printf("  available   %d: CountAvailable = len(ListAvailable)\n", wantAvailable)
	fmt.Printf("  total       %d: CountTotal = len(ListAll); a last CleanupStale removed %d stale, leaving the online ones\n",
		stored, removed)
	fmt.Printf("  alive       %d workers the simulator keeps alive, %d of them offline\n", alive, aliveOffline)
	if aliveOffline > 0 {
		fmt.Println("              (their heartbeats came too late: -max-interval is near -timeout, or the writers fell behind)")
	}
	if notStarted > 0 {
		fmt.Printf("  not started %d workers have not sent their first heartbeat yet\n", notStarted)
	}
	return true
}
