package main

import (
	"math"
	"sync/atomic"
	"time"
)

// simEpoch is the simulated instant the run starts at. It is fixed rather
// than the wall time so that nothing about the simulation depends on when it
// is run.
var simEpoch = time.Date(2030, time.January, 1, 0, 0, 0, 0, time.UTC)

// simClock is the demo's accelerated time, handed to the registry with
// heartbeat.WithClock: simulated time is simEpoch plus the wall time since
// the start multiplied by speed. Deriving it from one monotonic reading (not
// by advancing a counter) keeps it monotonic and lets every goroutine read it
// without coordination.
type simClock struct {
	start  time.Time // wall time at the start, with its monotonic reading
	speed  float64
	frozen atomic.Int64 // simulated elapsed time at freeze, or -1 while running
}

func newSimClock(speed float64) *simClock {
	c := &simClock{start: time.Now(), speed: speed}
	c.frozen.Store(-1)
	return c
}

// Elapsed returns the simulated time since the start.
func (c *simClock) Elapsed() time.Duration {
	if f := c.frozen.Load(); f >= 0 {
		return time.Duration(f)
	}
	return time.Duration(float64(time.Since(c.start)) * c.speed)
}

// Now is the registry's clock.
func (c *simClock) Now() time.Time { return c.At(c.Elapsed()) }

// At returns the simulated instant elapsed after the start.
func (c *simClock) At(elapsed time.Duration) time.Time { return simEpoch.Add(elapsed) }

// Real converts a simulated span to the wall time it takes, saturating, so
// that the wait for a time that never comes is long rather than undefined.
func (c *simClock) Real(sim time.Duration) time.Duration {
	if r := float64(sim) / c.speed; r < float64(math.MaxInt64) {
		return time.Duration(r)
	}
	return math.MaxInt64
}

// WallElapsed returns the wall time since the start.
func (c *simClock) WallElapsed() time.Duration { return time.Since(c.start) }

// Freeze stops simulated time where it is and returns it, so that the final
// consistency check compares the registry with the simulator at one instant.
func (c *simClock) Freeze() time.Duration {
	e := c.Elapsed()
	c.frozen.Store(int64(e))
	return e
}
