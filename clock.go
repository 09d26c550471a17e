package heartbeat

import (
	"math"
	"sync/atomic"
	"time"
)

// The registry keeps times as int64 nanoseconds since the Unix epoch, which
// cover the years 1678 to 2261. Times outside that range saturate to the ends,
// so a zero time.Time (year 1) is "long ago" and year 9999 is "never", and
// deadline arithmetic never wraps around.
const (
	minNanos = math.MinInt64
	maxNanos = math.MaxInt64
	// Whole seconds that still convert without overflow; one is kept in hand
	// so that adding the nanoseconds of the last second cannot overflow.
	minUnixSec = minNanos/int64(time.Second) + 1
	maxUnixSec = maxNanos/int64(time.Second) - 1
)

// unixNanos converts t to nanoseconds since the epoch, saturating.
func unixNanos(t time.Time) int64 {
	sec := t.Unix()
	switch {
	case sec < minUnixSec:
		return minNanos
	case sec > maxUnixSec:
		return maxNanos
	}
	return sec*int64(time.Second) + int64(t.Nanosecond())
}

// addSat returns a+b, saturating at the int64 range; b may have either sign.
func addSat(a, b int64) int64 {
	c := a + b
	if (c > a) != (b > 0) {
		if b > 0 {
			return maxNanos
		}
		return minNanos
	}
	return c
}

// atomicMax is the registry's time: the latest clock reading it has taken.
type atomicMax struct{ v atomic.Int64 }

func (m *atomicMax) load() int64 { return m.v.Load() }

// raise records reading t and returns the registry's time: the later of t
// and every earlier reading.
func (m *atomicMax) raise(t int64) int64 {
	for {
		old := m.v.Load()
		if t <= old {
			return old
		}
		if m.v.CompareAndSwap(old, t) {
			return t
		}
	}
}
