package heartbeat_test

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/heartbeat-registry/heartbeat"
)

// This file and reliability_test.go share the vocabulary below: a heartbeat
// whose Info names the exact Update that sent it, a clock that counts its
// readings, and refModel, the registry's semantics written plainly (one map,
// full scans) against which every answer is checked.

// probeInfo is a probe heartbeat's Info: its ID and a sequence number unique
// to the write, so that a query tells which write it saw, not only which ID.
type probeInfo struct {
	ID  string
	Seq uint64
}

// probeHooks make a heartbeat hostile. Each hook that is set runs inside the
// method of the same name, and may panic or call back into the registry; id
// replaces the ID altogether.
type probeHooks struct {
	id    func() string
	info  func()
	avail func()
	seen  func()
}

type probeHB struct {
	id    string
	seq   uint64
	seen  time.Time
	avail bool
	hooks *probeHooks // nil for a well-behaved heartbeat
}

func (h probeHB) ID() string {
	if h.hooks != nil && h.hooks.id != nil {
		return h.hooks.id()
	}
	return h.id
}

func (h probeHB) Info() probeInfo {
	if h.hooks != nil && h.hooks.info != nil {
		h.hooks.info()
	}
	return probeInfo{h.id, h.seq}
}

func (h probeHB) IsAvailable() bool {
	if h.hooks != nil && h.hooks.avail != nil {
		h.hooks.avail()
	}
	return h.avail
}

func (h probeHB) LastSeen() time.Time {
	if h.hooks != nil && h.hooks.seen != nil {
		h.hooks.seen()
	}
	return h.seen
}

// rawInfo is h's Info without running any hook.
func rawInfo(h probeHB) probeInfo { return probeInfo{h.id, h.seq} }

type probeRegistry = heartbeat.Registry[probeHB, probeInfo]

// probeClock is a fake clock that counts its readings: the registry's time
// is the latest reading it took, so which calls read the clock is part of
// the semantics under test. A hook, if set, runs on every reading.
type probeClock struct {
	mu    sync.Mutex
	t     time.Time
	reads int
	hook  func()
}

func newProbeClock(t time.Time) *probeClock { return &probeClock{t: t} }

func (c *probeClock) Now() time.Time {
	c.mu.Lock()
	c.reads++
	t, hook := c.t, c.hook
	c.mu.Unlock()
	if hook != nil {
		hook()
	}
	return t
}

// peek returns the clock's time without counting a reading.
func (c *probeClock) peek() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *probeClock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

func (c *probeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func (c *probeClock) setHook(f func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.hook = f
}

func (c *probeClock) readings() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reads
}

// specNanos is the registry's conversion of a time to int64 Unix
// nanoseconds, as specified: whole seconds beyond what converts without
// overflow (one second kept in hand) saturate to the int64 ends.
func specNanos(t time.Time) int64 {
	sec := t.Unix()
	switch {
	case sec < math.MinInt64/int64(time.Second)+1:
		return math.MinInt64
	case sec > math.MaxInt64/int64(time.Second)-1:
		return math.MaxInt64
	}
	return sec*int64(time.Second) + int64(t.Nanosecond())
}

// specAdd is a+b saturating at the int64 ends.
func specAdd(a, b int64) int64 {
	switch {
	case b > 0 && a > math.MaxInt64-b:
		return math.MaxInt64
	case b < 0 && a < math.MinInt64-b:
		return math.MinInt64
	}
	return a + b
}

// refModel is the registry's specification as a plain map with full scans.
// now is the registry's time N: the latest clock reading taken by the calls
// that read the clock (one reading each, and Update only for a heartbeat
// dated beyond N plus the skew allowance).
type refModel struct {
	timeout, skew int64
	now           int64
	items         map[string]refEntry
}

type refEntry struct {
	hb       probeHB
	deadline int64
}

// newRefModel mirrors New, which reads the clock once.
func newRefModel(timeout, skew time.Duration, clock time.Time) *refModel {
	return &refModel{timeout: int64(timeout), skew: int64(skew), now: specNanos(clock), items: map[string]refEntry{}}
}

// read is one clock reading by the registry.
func (m *refModel) read(clock time.Time) { m.now = max(m.now, specNanos(clock)) }

// deadline is Update's deadline for a heartbeat dated seen, and whether
// Update read the clock to compute it.
func (m *refModel) deadline(seen time.Time, clock time.Time) (d int64, read bool) {
	ls := specNanos(seen)
	if ls > specAdd(m.now, m.skew) {
		m.read(clock)
		read = true
		ls = min(ls, specAdd(m.now, m.skew))
	}
	return specAdd(ls, m.timeout), read
}

// update is Update of h as seen under key (h's ID at the call), with the
// clock showing clock; it reports whether Update read the clock.
func (m *refModel) update(key string, h probeHB, clock time.Time) (read bool, err error) {
	if key == "" {
		return false, heartbeat.ErrEmptyID
	}
	d, read := m.deadline(h.seen, clock)
	m.items[key] = refEntry{h, d}
	return read, nil
}

func (m *refModel) online(e refEntry) bool    { return e.deadline > m.now }
func (m *refModel) available(e refEntry) bool { return m.online(e) && e.hb.avail }
func anyEntry(refEntry) bool                  { return true }

func (m *refModel) infos(keep func(refEntry) bool) []probeInfo {
	out := []probeInfo{}
	for _, e := range m.items {
		if keep(e) {
			out = append(out, rawInfo(e.hb))
		}
	}
	return out
}

func (m *refModel) count(keep func(refEntry) bool) int {
	n := 0
	for _, e := range m.items {
		if keep(e) {
			n++
		}
	}
	return n
}

func (m *refModel) get(key string) (probeInfo, bool) {
	e, ok := m.items[key]
	if !ok {
		return probeInfo{}, false
	}
	return rawInfo(e.hb), true
}

func (m *refModel) isOnline(key string) bool {
	e, ok := m.items[key]
	return ok && m.online(e)
}

func (m *refModel) remove(key string) bool {
	_, ok := m.items[key]
	delete(m.items, key)
	return ok
}

// cleanup removes what is stale at m.now; the caller has taken the reading.
func (m *refModel) cleanup() int {
	n := 0
	for key, e := range m.items {
		if !m.online(e) {
			delete(m.items, key)
			n++
		}
	}
	return n
}

// sameInfos fails unless want and got hold the same infos, duplicates
// counted: a list that names an item twice does not match.
func sameInfos(t testing.TB, want, got []probeInfo, msgAndArgs ...any) {
	t.Helper()
	byKey := func(a, b probeInfo) int { return cmp.Or(strings.Compare(a.ID, b.ID), cmp.Compare(a.Seq, b.Seq)) }
	want, got = slices.Clone(want), slices.Clone(got)
	slices.SortFunc(want, byKey)
	slices.SortFunc(got, byKey)
	if want == nil {
		want = []probeInfo{}
	}
	if got == nil {
		got = []probeInfo{}
	}
	require.Equal(t, want, got, msgAndArgs...)
}

func rawInfos(hbs []probeHB) []probeInfo {
	out := make([]probeInfo, len(hbs))
	for i, h := range hbs {
		out[i] = rawInfo(h)
	}
	return out
}

// requireModel checks every query of r against m, at the clock's time. The
// clock stands still meanwhile, so the queries' readings all equal the
// first, which the model takes once.
func requireModel(t testing.TB, r *probeRegistry, m *refModel, clk *probeClock) {
	t.Helper()
	m.read(clk.peek())
	all, online, available := m.infos(anyEntry), m.infos(m.online), m.infos(m.available)
	require.Equal(t, len(all), r.CountTotal(), "CountTotal")
	require.Equal(t, len(online), r.CountOnline(), "CountOnline")
	require.Equal(t, len(available), r.CountAvailable(), "CountAvailable")
	sameInfos(t, all, r.ListAll(), "ListAll")
	sameInfos(t, online, r.ListOnline(), "ListOnline")
	sameInfos(t, available, r.ListAvailable(), "ListAvailable")
	sameInfos(t, all, rawInfos(r.GetAllHeartbeats()), "GetAllHeartbeats")
	for key, e := range m.items {
		requireGet(t, r, m, key, "")
		if online := r.IsOnline(key); online != m.online(e) {
			require.Equal(t, m.online(e), online, "IsOnline(%q)", key)
		}
	}
}

// requireEq is require.Equal for comparable values, without testify's
// reflection unless they differ: the fuzz targets check after every step.
func requireEq[V comparable](t testing.TB, want, got V, msgAndArgs ...any) {
	if want != got {
		t.Helper()
		require.Equal(t, want, got, msgAndArgs...)
	}
}

// requireGet checks Get(key) against the model. It compares directly and
// calls require only on a mismatch: the fuzz targets call it after every
// step, and testify's reflection would dominate their cost.
func requireGet(t testing.TB, r *probeRegistry, m *refModel, key string, context string, args ...any) {
	info, ok := r.Get(key)
	if wantInfo, wantOK := m.get(key); ok != wantOK || info != wantInfo {
		t.Helper()
		require.Equal(t, fmt.Sprint(wantInfo, wantOK), fmt.Sprint(info, ok), "Get(%q) %s", key, fmt.Sprintf(context, args...))
	}
}

// FuzzRegistry runs a program of operations, decoded from the fuzz input,
// on the registry and on refModel, and requires every answer to be equal,
// including how many clock readings each call took. Between steps it also
// compares what can be asked without reading the clock (CountTotal, Get of
// every ID), so that the check itself does not move the registry's time.
//
// The input is two configuration bytes, then operations of four bytes each
// (an opcode and three arguments). The configuration picks the shard count
// (1, 2, 4, 64: one shard makes every ID collide in one index and wheel, 64
// spreads twelve IDs thin), the timeout (1 ns to MaxInt64, so that deadlines
// land in every wheel level, its overflow slot, and saturate), the skew
// allowance (0, 1 ns, 10 s, MaxInt64) and the starting clock (ordinary,
// aligned to every wheel level, just before the epoch, or at or near either
// end of the int64 range, where times saturate).
func FuzzRegistry(f *testing.F) {
	for _, seed := range fzSeeds() {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, ops := fzDecode(data)
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("program: %v\n%s", cfg, fzListing(ops))
			}
		})
		fzRun(t, cfg, ops)
	})
}

var (
	fzShardCounts = [4]int{1, 2, 4, 64}
	fzTimeouts    = [8]time.Duration{
		time.Nanosecond, time.Millisecond, 20 * time.Millisecond, time.Second,
		heartbeat.DefaultTimeout, time.Hour, 400 * 24 * time.Hour, math.MaxInt64,
	}
	fzSkews  = [4]time.Duration{0, heartbeat.DefaultMaxClockSkew, time.Nanosecond, math.MaxInt64}
	fzEpoch  = time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	fzStarts = [8]time.Time{
		fzEpoch,
		time.Unix(0, fzEpoch.UnixNano()>>48<<48).UTC(), // a slot boundary of every wheel level
		time.Unix(0, -1).UTC(),
		{}, // year 1: the registry's time saturates to MinInt64
		time.Unix(0, math.MinInt64).Add(time.Hour).UTC(),
		time.Unix(0, math.MaxInt64).Add(-time.Hour).UTC(),
		time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), // saturates to MaxInt64
		fzEpoch.AddDate(1, 0, 0).Add(500 * time.Millisecond),
	}
	// A small ID space so that writes meet; the empty ID is refused, and the
	// last three are odd bytes that must be keys like any other.
	fzIDs = [16]string{"w0", "w1", "w2", "w3", "w4", "w5", "w6", "w7", "w8", "w9", "w10", "w11", "", "\x00", "\xff\xfe", "w0\x00"}
)

type fzConfig struct {
	shards        int
	timeout, skew time.Duration
	start         time.Time
}

func (c fzConfig) String() string {
	return fmt.Sprintf("shards=%d timeout=%v skew=%v start=%v", c.shards, c.timeout, c.skew, c.start)
}

type fzKind uint8

const (
	fzUpdate fzKind = iota
	fzRemove
	fzGet
	fzIsOnline
	fzCountOnline
	fzCountAvailable
	fzCountTotal
	fzListAll
	fzListOnline
	fzListAvailable
	fzGetAll
	fzCleanup
	fzForward    // the clock moves forward by z ms
	fzLeap       // forward by 1 to 64 seconds, minutes, hours, days, months or years
	fzBack       // backward by 1 to 64 ms, seconds, minutes, hours, days or years
	fzToDeadline // the clock goes to a stored item's deadline -1, 0 or +1 ns
	fzSetClock   // the clock goes to an extreme
)

var fzKindNames = [...]string{
	"Update", "Remove", "Get", "IsOnline", "CountOnline", "CountAvailable", "CountTotal",
	"ListAll", "ListOnline", "ListAvailable", "GetAllHeartbeats", "CleanupStale",
	"Forward", "Leap", "Back", "ToDeadline", "SetClock",
}

// fzOpcodes maps an opcode byte's low five bits to an operation; updates,
// cleanups and small clock steps are the most frequent.
var fzOpcodes = [32]fzKind{
	fzUpdate, fzUpdate, fzUpdate, fzUpdate, fzUpdate, fzUpdate, fzUpdate, fzUpdate,
	fzRemove, fzGet, fzIsOnline, fzIsOnline, fzCountOnline, fzCountAvailable, fzCountTotal, fzListAll,
	fzListOnline, fzListAvailable, fzGetAll, fzCleanup, fzCleanup, fzForward, fzForward, fzForward,
	fzLeap, fzBack, fzToDeadline, fzToDeadline, fzSetClock, fzCountOnline, fzRemove, fzCleanup,
}

// Update's LastSeen, relative to the clock c or to the registry's time N.
const (
	offNow           = iota // c
	offPastMs               // c - z ms
	offAheadMs              // c + z ms
	offStaleAtNow           // c - timeout: stale on arrival if N == c
	offLastOnline           // c - timeout + 1 ns
	offAtAllowance          // N + skew: the latest date taken as is, without a reading
	offPastAllowance        // N + skew + 1 ns: read the clock, clamp
	offAheadSkew            // c + skew + z s
	offAhead3h              // c + 3 h: a sender whose clock runs ahead
	offPastHours            // c - z h
	offZero                 // time.Time{}
	offYear1500             // before 1678: saturates to MinInt64
	offYear9999             // after 2262: saturates to MaxInt64
	offAheadDays            // c + z days
	offPastDays             // c - z days
	offNearDeadline         // N - timeout + z - 128 ns: deadlines around N
	numOffsets
)

var fzOffsetNames = [numOffsets]string{
	"c", "c-z·ms", "c+z·ms", "c-timeout", "c-timeout+1ns", "N+skew", "N+skew+1ns", "c+skew+z·s",
	"c+3h", "c-z·h", "zero", "1500", "9999", "c+z·days", "c-z·days", "N-timeout+(z-128)ns",
}

var (
	fzLeapUnits = [6]time.Duration{time.Second, time.Minute, time.Hour, 24 * time.Hour, 30 * 24 * time.Hour, 365 * 24 * time.Hour}
	fzBackUnits = [6]time.Duration{time.Millisecond, time.Second, time.Minute, time.Hour, 24 * time.Hour, 365 * 24 * time.Hour}
	fzExtremes  = [8]time.Time{
		{}, time.Unix(0, math.MinInt64).UTC(), time.Unix(0, -1).UTC(), fzEpoch,
		time.Unix(0, math.MaxInt64-1).UTC(), time.Unix(0, math.MaxInt64).UTC(),
		time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), fzEpoch.Add(time.Hour),
	}
)

type fzOp struct {
	kind    fzKind
	x, y, z byte
}

func (o fzOp) String() string {
	id := fmt.Sprintf("%q", fzIDs[o.x&15])
	switch o.kind {
	case fzUpdate:
		return fmt.Sprintf("Update(%s, available=%v, LastSeen=%s, z=%d)", id, o.y&1 == 1, fzOffsetNames[o.y>>1&15], o.z)
	case fzRemove, fzGet, fzIsOnline:
		return fmt.Sprintf("%s(%s)", fzKindNames[o.kind], id)
	case fzForward:
		return fmt.Sprintf("clock += %dms", o.z)
	case fzLeap:
		return fmt.Sprintf("clock += %d × %v", o.z%64+1, fzLeapUnits[o.y%6])
	case fzBack:
		return fmt.Sprintf("clock -= %d × %v", o.z%64+1, fzBackUnits[o.y%6])
	case fzToDeadline:
		return fmt.Sprintf("clock = deadline(%s) %+dns (or N if absent)", id, int(o.z%3)-1)
	case fzSetClock:
		return fmt.Sprintf("clock = %v", fzExtremes[o.z&7])
	}
	return fzKindNames[o.kind]
}

// fzMaxOps bounds a program, so that an execution stays short.
const fzMaxOps = 256

func fzDecode(data []byte) (fzConfig, []fzOp) {
	var c0, c1 byte
	if len(data) > 0 {
		c0 = data[0]
	}
	if len(data) > 1 {
		c1 = data[1]
	}
	cfg := fzConfig{
		shards:  fzShardCounts[c0&3],
		timeout: fzTimeouts[c0>>2&7],
		start:   fzStarts[c0>>5],
		skew:    fzSkews[c1&3],
	}
	var ops []fzOp
	for p := 2; p < len(data) && len(ops) < fzMaxOps; p += 4 {
		var b [4]byte
		copy(b[:], data[p:])
		ops = append(ops, fzOp{fzOpcodes[b[0]&31], b[1], b[2], b[3]})
	}
	return cfg, ops
}

func fzListing(ops []fzOp) string {
	var b strings.Builder
	for i, o := range ops {
		fmt.Fprintf(&b, "%3d %v\n", i, o)
	}
	return b.String()
}

// fzSeen is an Update's LastSeen for offset kind off.
func fzSeen(off int, z byte, c time.Time, m *refModel) time.Time {
	N := func(d int64) time.Time { return time.Unix(0, specAdd(m.now, d)).UTC() }
	timeout, skew := time.Duration(m.timeout), time.Duration(m.skew)
	switch off {
	case offNow:
		return c
	case offPastMs:
		return c.Add(-time.Duration(z) * time.Millisecond)
	case offAheadMs:
		return c.Add(time.Duration(z) * time.Millisecond)
	case offStaleAtNow:
		return c.Add(-timeout)
	case offLastOnline:
		return c.Add(-timeout).Add(1)
	case offAtAllowance:
		return N(m.skew)
	case offPastAllowance:
		return time.Unix(0, specAdd(specAdd(m.now, m.skew), 1)).UTC()
	case offAheadSkew:
		return c.Add(skew).Add(time.Duration(z) * time.Second)
	case offAhead3h:
		return c.Add(3 * time.Hour)
	case offPastHours:
		return c.Add(-time.Duration(z) * time.Hour)
	case offZero:
		return time.Time{}
	case offYear1500:
		return time.Date(1500, 1, 1, 0, 0, 0, 0, time.UTC)
	case offYear9999:
		return time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
	case offAheadDays:
		return c.Add(time.Duration(z) * 24 * time.Hour)
	case offPastDays:
		return c.Add(-time.Duration(z) * 24 * time.Hour)
	default: // offNearDeadline
		return N(specAdd(-m.timeout, int64(z)-128))
	}
}

func fzRun(t *testing.T, cfg fzConfig, ops []fzOp) {
	clk := newProbeClock(cfg.start)
	r := heartbeat.New[probeHB](heartbeat.WithClock(clk.Now), heartbeat.WithShards(cfg.shards),
		heartbeat.WithTimeout(cfg.timeout), heartbeat.WithMaxClockSkew(cfg.skew))
	m := newRefModel(cfg.timeout, cfg.skew, cfg.start)
	requireEq(t, 1, clk.readings(), "New reads the clock once")
	var seq uint64
	for i, op := range ops {
		id := fzIDs[op.x&15]
		reads := clk.readings()
		wantReads := 1 // the queries read the clock once each
		c := clk.peek()
		switch op.kind {
		case fzUpdate:
			seq++
			h := probeHB{id: id, seq: seq, seen: fzSeen(int(op.y>>1&15), op.z, c, m), avail: op.y&1 == 1}
			read, wantErr := m.update(id, h, c)
			wantReads = 0
			if read {
				wantReads = 1
			}
			requireEq(t, wantErr, r.Update(h), "step %d: %v", i, op)
		case fzRemove:
			wantReads = 0
			requireEq(t, m.remove(id), r.Remove(id), "step %d: %v", i, op)
		case fzGet:
			wantReads = 0
			info, ok := r.Get(id)
			wantInfo, wantOK := m.get(id)
			requireEq(t, wantOK, ok, "step %d: %v", i, op)
			requireEq(t, wantInfo, info, "step %d: %v", i, op)
		case fzIsOnline:
			m.read(c)
			requireEq(t, m.isOnline(id), r.IsOnline(id), "step %d: %v", i, op)
		case fzCountOnline:
			m.read(c)
			requireEq(t, m.count(m.online), r.CountOnline(), "step %d: %v", i, op)
		case fzCountAvailable:
			m.read(c)
			requireEq(t, m.count(m.available), r.CountAvailable(), "step %d: %v", i, op)
		case fzCountTotal:
			wantReads = 0
			requireEq(t, len(m.items), r.CountTotal(), "step %d: %v", i, op)
		case fzListAll:
			m.read(c)
			sameInfos(t, m.infos(anyEntry), r.ListAll(), "step %d: %v", i, op)
		case fzListOnline:
			m.read(c)
			sameInfos(t, m.infos(m.online), r.ListOnline(), "step %d: %v", i, op)
		case fzListAvailable:
			m.read(c)
			sameInfos(t, m.infos(m.available), r.ListAvailable(), "step %d: %v", i, op)
		case fzGetAll:
			m.read(c)
			sameInfos(t, m.infos(anyEntry), rawInfos(r.GetAllHeartbeats()), "step %d: %v", i, op)
		case fzCleanup:
			m.read(c)
			requireEq(t, m.cleanup(), r.CleanupStale(), "step %d: %v", i, op)
			// Again at the same time: nothing is due, and no item is visited.
			visited, _ := r.WheelWork()
			requireEq(t, 0, r.CleanupStale(), "step %d: a second CleanupStale", i)
			after, _ := r.WheelWork()
			requireEq(t, visited, after, "step %d: items visited by a second CleanupStale", i)
			wantReads = 2
		default: // the clock moves; the registry does not look
			wantReads = 0
			clk.set(fzMoveClock(op, c, m))
		}
		requireEq(t, wantReads, clk.readings()-reads, "step %d: clock readings of %v", i, op)

		// What can be checked without a reading, after every step.
		requireEq(t, len(m.items), r.CountTotal(), "step %d: CountTotal after %v", i, op)
		for _, id := range fzIDs {
			requireGet(t, r, m, id, "after step %d: %v", i, op)
		}
		requireEq(t, reads+wantReads, clk.readings(), "step %d: Get and CountTotal read the clock", i)
	}
	requireModel(t, r, m, clk)
	m.read(clk.peek())
	requireEq(t, m.cleanup(), r.CleanupStale(), "final CleanupStale")
	requireModel(t, r, m, clk)
}

func fzMoveClock(op fzOp, c time.Time, m *refModel) time.Time {
	switch op.kind {
	case fzForward:
		return c.Add(time.Duration(op.z) * time.Millisecond)
	case fzLeap:
		return c.Add(time.Duration(op.z%64+1) * fzLeapUnits[op.y%6])
	case fzBack:
		return c.Add(-time.Duration(op.z%64+1) * fzBackUnits[op.y%6])
	case fzToDeadline:
		at := m.now
		if e, ok := m.items[fzIDs[op.x&15]]; ok {
			at = e.deadline
		}
		return time.Unix(0, specAdd(at, int64(op.z%3)-1)).UTC()
	default: // fzSetClock
		return fzExtremes[op.z&7]
	}
}

// Seed programs. Each is a configuration and a list of operations, built
// with the helpers below so that they read as what they test.

func fzCfg(shards, timeout, start, skew int) []byte {
	return []byte{byte(shards | timeout<<2 | start<<5), byte(skew)}
}

func fzOpcode(k fzKind) byte { return byte(slices.Index(fzOpcodes[:], k)) }

func fzID(id string) byte { return byte(slices.Index(fzIDs[:], id)) }

func fzUpd(id string, avail bool, off int, z byte) []byte {
	a := 0
	if avail {
		a = 1
	}
	return []byte{fzOpcode(fzUpdate), fzID(id), byte(off<<1 | a), z}
}

func fzDo(k fzKind) []byte             { return []byte{fzOpcode(k), 0, 0, 0} }
func fzOn(k fzKind, id string) []byte  { return []byte{fzOpcode(k), fzID(id), 0, 0} }
func fzFwd(ms byte) []byte             { return []byte{fzOpcode(fzForward), 0, 0, ms} }
func fzLeapBy(n byte, unit int) []byte { return []byte{fzOpcode(fzLeap), 0, byte(unit), n - 1} }
func fzBackBy(n byte, unit int) []byte { return []byte{fzOpcode(fzBack), 0, byte(unit), n - 1} }
func fzAtDeadline(id string, d int) []byte {
	return []byte{fzOpcode(fzToDeadline), fzID(id), 0, byte(d + 1)}
}
func fzAt(extreme byte) []byte                { return []byte{fzOpcode(fzSetClock), 0, 0, extreme} }
func fzProg(cfg []byte, ops ...[]byte) []byte { return slices.Concat(append([][]byte{cfg}, ops...)...) }

func fzSeeds() [][]byte {
	// Indices into the configuration tables.
	const (
		sh1, sh2, sh4, sh64                                                             = 0, 1, 2, 3
		to1ns, to1ms, to20ms, to1s, to90s, to1h, to400d, toMax                          = 0, 1, 2, 3, 4, 5, 6, 7
		stEpoch, stAligned, stBefore1970, stYear1, stMin, stMax, stYear9999, stNextYear = 0, 1, 2, 3, 4, 5, 6, 7
		skew0, skew10s, skew1ns, skewMax                                                = 0, 1, 2, 3
	)
	// Every query, one step each.
	q := slices.Concat(
		fzOn(fzIsOnline, "w0"), fzDo(fzCountOnline), fzDo(fzCountAvailable), fzDo(fzCountTotal),
		fzDo(fzListAll), fzDo(fzListOnline), fzDo(fzListAvailable), fzDo(fzGetAll))
	var seeds [][]byte
	// The deadline boundary, at every timeout: online 1 ns before, stale at.
	for to := range fzTimeouts {
		seeds = append(seeds, fzProg(fzCfg(sh1, to, stEpoch, skew10s),
			fzUpd("w0", true, offNow, 0), fzUpd("w1", false, offLastOnline, 0),
			fzAtDeadline("w0", -1), q, fzDo(fzCleanup),
			fzAtDeadline("w0", 0), q, fzDo(fzCleanup),
			fzAtDeadline("w0", 1), q, fzDo(fzCleanup)))
	}
	seeds = append(seeds,
		// Renewal, then expiry of the renewed deadline.
		fzProg(fzCfg(sh4, to90s, stAligned, skew10s),
			fzUpd("w0", true, offNow, 0), fzUpd("w1", true, offNow, 0), fzFwd(200), fzDo(fzCleanup),
			fzLeapBy(60, 0), fzUpd("w0", true, offNow, 0), fzDo(fzCountOnline),
			fzLeapBy(31, 0), fzDo(fzCleanup), fzAtDeadline("w0", -1), fzDo(fzCountOnline), fzDo(fzCleanup),
			fzAtDeadline("w0", 0), q, fzDo(fzCleanup)),
		// A backdated renewal moves the deadline earlier: stale at once, or soon.
		fzProg(fzCfg(sh1, to90s, stEpoch, skew10s),
			fzUpd("w0", true, offNow, 0), fzDo(fzCountOnline), fzUpd("w0", true, offStaleAtNow, 0), q,
			fzUpd("w1", true, offNow, 0), fzUpd("w1", false, offPastMs, 100), fzUpd("w1", true, offLastOnline, 0), q,
			fzFwd(1), q, fzDo(fzCleanup)),
		// The clock goes back an hour, then forward: time stands still, nothing
		// expires early, heartbeats dated by the rewound clock are old.
		fzProg(fzCfg(sh2, to90s, stEpoch, skew10s),
			fzUpd("w0", true, offNow, 0), fzUpd("w1", false, offPastMs, 250), fzUpd("w2", true, offAheadMs, 250),
			fzLeapBy(30, 0), fzDo(fzCountOnline), fzBackBy(1, 3), q, fzUpd("w3", true, offNow, 0), fzUpd("w4", true, offAhead3h, 0), q,
			fzLeapBy(50, 1), q, fzDo(fzCleanup), fzLeapBy(10, 2), q, fzDo(fzCleanup)),
		// Jumps of years, with items spread over days and 400-day timeouts.
		fzProg(fzCfg(sh64, to400d, stEpoch, skew10s),
			fzUpd("w0", true, offNow, 0), fzUpd("w1", true, offPastDays, 200), fzUpd("w2", true, offAheadDays, 9),
			fzUpd("w3", true, offPastDays, 255), fzUpd("w6", true, offLastOnline, 0), fzUpd("w4", false, offPastHours, 1), fzDo(fzCountOnline),
			fzLeapBy(1, 5), q, fzDo(fzCleanup), fzLeapBy(16, 5), q, fzDo(fzCleanup),
			fzLeapBy(16, 5), fzLeapBy(16, 5), fzLeapBy(16, 5), fzLeapBy(16, 5), fzLeapBy(16, 5), fzLeapBy(16, 5), fzLeapBy(16, 5), fzLeapBy(16, 5),
			fzLeapBy(16, 5), fzLeapBy(16, 5), fzLeapBy(16, 5), fzLeapBy(16, 5), fzLeapBy(16, 5), fzLeapBy(16, 5), fzLeapBy(16, 5),
			fzUpd("w5", true, offNow, 0), q, fzDo(fzCleanup)),
		// Far future with no allowance: dated 9999, online until N saturates.
		fzProg(fzCfg(sh1, to90s, stEpoch, skew0),
			fzUpd("w0", true, offYear9999, 0), fzUpd("w1", true, offAhead3h, 0), fzUpd("w2", true, offPastAllowance, 0),
			q, fzAtDeadline("w1", -1), q, fzAtDeadline("w1", 0), q, fzDo(fzCleanup), fzAt(4), q, fzAt(5), q, fzDo(fzCleanup)),
		// Far future with the default allowance: dated now+10 s.
		fzProg(fzCfg(sh2, to1s, stEpoch, skew10s),
			fzUpd("w0", true, offYear9999, 0), fzUpd("w1", true, offAtAllowance, 0), fzUpd("w2", true, offPastAllowance, 0),
			fzAtDeadline("w0", -1), q, fzAtDeadline("w0", 0), q, fzDo(fzCleanup)),
		// A renewal that reads the clock, after the clock moved without a reading.
		fzProg(fzCfg(sh1, to1s, stEpoch, skew1ns),
			fzUpd("w0", true, offNow, 0), fzLeapBy(10, 1), fzUpd("w0", true, offNow, 0), fzUpd("w1", true, offPastAllowance, 0), q),
		// Saturation at both ends of the int64 range.
		fzProg(fzCfg(sh4, to1h, stYear1, skew10s),
			fzUpd("w0", true, offZero, 0), fzUpd("w1", true, offYear1500, 0), fzUpd("w2", true, offNow, 0), q,
			fzAt(1), q, fzAt(3), q, fzDo(fzCleanup)),
		fzProg(fzCfg(sh4, toMax, stMax, skewMax),
			fzUpd("w0", true, offNow, 0), fzUpd("w1", true, offYear9999, 0), fzUpd("w2", false, offAheadDays, 3), q,
			fzLeapBy(1, 2), q, fzAt(5), q, fzDo(fzCleanup), fzAt(6), q, fzDo(fzCleanup)),
		fzProg(fzCfg(sh1, to20ms, stBefore1970, skew10s),
			fzUpd("w0", true, offNow, 0), fzUpd("w1", true, offNearDeadline, 200), fzFwd(19), q, fzFwd(1), q, fzDo(fzCleanup)),
		// A stale item comes back, and availability flips while stale.
		fzProg(fzCfg(sh1, to1s, stAligned, skew10s),
			fzUpd("w0", true, offNow, 0), fzUpd("w1", false, offNow, 0), fzLeapBy(2, 0), fzDo(fzCountAvailable),
			fzUpd("w1", true, offStaleAtNow, 0), fzUpd("w0", false, offStaleAtNow, 0), q,
			fzUpd("w0", true, offNow, 0), q, fzDo(fzCleanup), q),
		// A plain renewal (a later deadline) that flips availability.
		fzProg(fzCfg(sh2, to90s, stEpoch, skew10s),
			fzUpd("w0", true, offPastMs, 9), fzUpd("w1", false, offPastMs, 9), q,
			fzUpd("w0", false, offNow, 0), fzUpd("w1", true, offNow, 0), q, fzFwd(5), fzUpd("w1", false, offNow, 0), q),
		// The empty ID is refused; odd bytes are keys like any other.
		fzProg(fzCfg(sh64, to90s, stNextYear, skew10s),
			fzUpd("", true, offNow, 0), fzUpd("\x00", true, offNow, 0), fzUpd("\xff\xfe", false, offNow, 0),
			fzUpd("w0\x00", true, offPastMs, 5), fzUpd("w0", true, offNow, 0), fzOn(fzRemove, "w0"), q,
			fzOn(fzRemove, ""), fzOn(fzGet, ""), fzOn(fzIsOnline, ""), q),
		// A clock before 1970: negative times expire like any other.
		fzProg(fzCfg(sh2, to1s, stMin, skew10s),
			fzUpd("w0", true, offNow, 0), fzUpd("w1", false, offPastMs, 200), q, fzFwd(250), q,
			fzAtDeadline("w1", 0), q, fzDo(fzCleanup), fzAtDeadline("w0", -1), q, fzAtDeadline("w0", 0), q, fzDo(fzCleanup)),
		// A 1 ns timeout: online only at exactly LastSeen.
		fzProg(fzCfg(sh1, to1ns, stEpoch, skew0),
			fzUpd("w0", true, offNow, 0), q, fzAtDeadline("w0", -1), q, fzAtDeadline("w0", 0), q, fzDo(fzCleanup)),
	)
	return seeds
}

// FuzzRegistryManyIDs drives one shard with thousands of IDs, in ranges, so
// that its index grows, splits its tables and its directory, and shifts
// probe runs back on deletion, while the wheel files and expires them in
// bulk. The input is one configuration byte (the timeout) and operations of
// four bytes. After each step it compares CountTotal and Get of the IDs the
// step touched; counts, lists and cleanups are steps of their own.
func FuzzRegistryManyIDs(f *testing.F) {
	cfg := func(timeout int) byte { return byte(timeout) }
	op := func(k bulkKind, a, b, c byte) []byte { return []byte{byte(k), a, b, c} }
	f.Add(slices.Concat([]byte{cfg(2)},
		op(bulkInsert, 0, 255, 0), op(bulkLists, 0, 0, 0), op(bulkRemove, 0, 255, 2), op(bulkCounts, 0, 0, 0),
		op(bulkInsert, 32, 255, 200), op(bulkAdvance, 20, 0, 0), op(bulkCleanup, 0, 0, 0), op(bulkLists, 0, 0, 0)))
	f.Add(slices.Concat([]byte{cfg(1)},
		op(bulkInsert, 0, 255, 255), op(bulkInsert, 128, 255, 30), op(bulkRenew, 64, 100, 1), op(bulkAdvance, 31, 0, 0),
		op(bulkCounts, 0, 0, 0), op(bulkRemove, 10, 200, 0), op(bulkCleanup, 0, 0, 0), op(bulkAdvance, 200, 0, 0),
		op(bulkLists, 0, 0, 0), op(bulkCleanup, 0, 0, 0), op(bulkInsert, 200, 255, 7), op(bulkLists, 0, 0, 0)))
	f.Add(slices.Concat([]byte{cfg(3)},
		op(bulkInsert, 0, 255, 64), op(bulkInsert, 255, 255, 64), op(bulkRemove, 0, 255, 6), op(bulkRemove, 255, 255, 1),
		op(bulkCounts, 0, 0, 0), op(bulkAdvance, 63, 0, 0), op(bulkCleanup, 0, 0, 0), op(bulkInsert, 100, 255, 1), op(bulkLists, 0, 0, 0)))
	f.Fuzz(func(t *testing.T, data []byte) {
		bulkRun(t, data)
	})
}

type bulkKind uint8

const (
	bulkInsert  bulkKind = iota // write a range of IDs, ages spread over up to 4 timeouts
	bulkInsert2                 // the same, twice as likely
	bulkRemove                  // remove every (c%7+1)-th ID of a range
	bulkRenew                   // renew a range, dated now
	bulkCleanup
	bulkAdvance // the clock moves forward by (a+1)/64 of the timeout
	bulkCounts
	bulkLists
)

const (
	bulkIDSpace    = 4096
	bulkMaxOps     = 64
	bulkMaxUpdates = 20000
)

var (
	bulkTimeouts = [4]time.Duration{time.Millisecond, 20 * time.Millisecond, heartbeat.DefaultTimeout, time.Hour}
	bulkIDs      = func() []string {
		ids := make([]string, bulkIDSpace)
		for i := range ids {
			ids[i] = fmt.Sprint("m", i)
		}
		return ids
	}()
)

func bulkRun(t *testing.T, data []byte) {
	var c0 byte
	if len(data) > 0 {
		c0 = data[0]
	}
	timeout := bulkTimeouts[c0&3]
	clk := newProbeClock(fzEpoch)
	r := heartbeat.New[probeHB](heartbeat.WithClock(clk.Now), heartbeat.WithShards(1), heartbeat.WithTimeout(timeout))
	m := newRefModel(timeout, heartbeat.DefaultMaxClockSkew, fzEpoch)
	var seq uint64
	updates := 0
	for p, step := 1, 0; p < len(data) && step < bulkMaxOps; p, step = p+4, step+1 {
		var b [4]byte
		copy(b[:], data[p:])
		kind, a, n, c := bulkKind(b[0]%8), int(b[1]), int(b[2]), b[3]
		start, count := a*16, n*8+1
		now := clk.peek()
		touched := false
		switch kind {
		case bulkInsert, bulkInsert2, bulkRenew:
			if updates+count > bulkMaxUpdates {
				continue
			}
			updates += count
			touched = true
			for i := range count {
				id := bulkIDs[(start+i)%bulkIDSpace]
				seq++
				h := probeHB{id: id, seq: seq, seen: now, avail: c&1 == 1}
				if kind != bulkRenew {
					age := time.Duration(uint64(i) * uint64(c) * uint64(timeout) / (64 * uint64(count)))
					h.seen, h.avail = now.Add(-age), (i+int(c))%3 == 0
				}
				if _, err := m.update(id, h, now); err != nil {
					t.Fatal(err)
				}
				if err := r.Update(h); err != nil {
					t.Fatal(err)
				}
			}
		case bulkRemove:
			touched = true
			for i := 0; i < count; i += int(c%7) + 1 {
				id := bulkIDs[(start+i)%bulkIDSpace]
				requireEq(t, m.remove(id), r.Remove(id), "step %d: Remove(%s)", step, id)
			}
		case bulkCleanup:
			m.read(now)
			requireEq(t, m.cleanup(), r.CleanupStale(), "step %d: CleanupStale", step)
		case bulkAdvance:
			clk.advance(timeout * time.Duration(a+1) / 64)
		case bulkCounts:
			m.read(now)
			requireEq(t, m.count(m.online), r.CountOnline(), "step %d: CountOnline", step)
			requireEq(t, m.count(m.available), r.CountAvailable(), "step %d: CountAvailable", step)
		case bulkLists:
			m.read(now)
			sameInfos(t, m.infos(anyEntry), r.ListAll(), "step %d: ListAll", step)
			sameInfos(t, m.infos(m.online), r.ListOnline(), "step %d: ListOnline", step)
			sameInfos(t, m.infos(m.available), r.ListAvailable(), "step %d: ListAvailable", step)
		}
		requireEq(t, len(m.items), r.CountTotal(), "step %d: CountTotal", step)
		if touched {
			for i := range count {
				requireGet(t, r, m, bulkIDs[(start+i)%bulkIDSpace], "after step %d", step)
			}
		}
	}
	requireModel(t, r, m, clk)
	m.read(clk.peek())
	requireEq(t, m.cleanup(), r.CleanupStale(), "final CleanupStale")
	requireModel(t, r, m, clk)
	for _, id := range bulkIDs {
		requireGet(t, r, m, id, "at the end")
	}
}
