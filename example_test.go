package heartbeat_test

import (
	"fmt"
	"slices"
	"time"

	"github.com/heartbeat-registry/heartbeat"
)

// MyHeartbeat is the original crate's doc example: any type with these four
// methods can be stored.
type MyHeartbeat struct {
	ID_       string
	Timestamp time.Time
}

func (h MyHeartbeat) ID() string          { return h.ID_ }
func (h MyHeartbeat) Info() string        { return h.ID_ }
func (h MyHeartbeat) IsAvailable() bool   { return true }
func (h MyHeartbeat) LastSeen() time.Time { return h.Timestamp }

// The original crate's doc example: define a heartbeat type, make a
// registry of it.
func Example() {
	registry := heartbeat.New[MyHeartbeat]()
	fmt.Println(registry.CountTotal())
	// Output: 0
}

// WorkerHeartbeat is what a worker sends every few seconds.
type WorkerHeartbeat struct {
	WorkerID string
	Model    string
	Busy     bool
	SentAt   time.Time
}

// WorkerInfo is what the scheduler asks the registry for.
type WorkerInfo struct {
	WorkerID, Model string
}

func (h WorkerHeartbeat) ID() string          { return h.WorkerID }
func (h WorkerHeartbeat) Info() WorkerInfo    { return WorkerInfo{h.WorkerID, h.Model} }
func (h WorkerHeartbeat) IsAvailable() bool   { return !h.Busy }
func (h WorkerHeartbeat) LastSeen() time.Time { return h.SentAt }

// A scheduler's registry of workers: store heartbeats as they arrive, ask
// who can take work.
func ExampleNew() {
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	workers := heartbeat.New[WorkerHeartbeat](
		heartbeat.WithTimeout(30*time.Second),
		heartbeat.WithClock(func() time.Time { return now }), // omit in production: time.Now
	)
	_ = workers.Update(WorkerHeartbeat{WorkerID: "w1", Model: "llama", SentAt: now.Add(-time.Second)})
	_ = workers.Update(WorkerHeartbeat{WorkerID: "w2", Model: "llama", Busy: true, SentAt: now})
	_ = workers.Update(WorkerHeartbeat{WorkerID: "w3", Model: "qwen", SentAt: now.Add(-time.Minute)})

	fmt.Println("online:", workers.CountOnline(), "available:", workers.CountAvailable(), "stored:", workers.CountTotal())
	fmt.Println("w3 online:", workers.IsOnline("w3"))
	for _, w := range workers.ListAvailable() {
		fmt.Println("send work to", w.WorkerID, "running", w.Model)
	}
	// Output:
	// online: 2 available: 1 stored: 3
	// w3 online: false
	// send work to w1 running llama
}

// A janitor removes what has gone stale; a renewal keeps an item online.
func ExampleRegistry_CleanupStale() {
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	workers := heartbeat.New[WorkerHeartbeat](heartbeat.WithClock(func() time.Time { return now }))
	for _, id := range []string{"w1", "w2", "w3"} {
		_ = workers.Update(WorkerHeartbeat{WorkerID: id, SentAt: now})
	}
	now = now.Add(60 * time.Second)
	_ = workers.Update(WorkerHeartbeat{WorkerID: "w2", SentAt: now}) // w2 is still alive

	now = now.Add(45 * time.Second) // w1 and w3 last heard from 105 s ago
	fmt.Println("removed:", workers.CleanupStale())
	ids := []string{}
	for _, w := range workers.ListAll() {
		ids = append(ids, w.WorkerID)
	}
	slices.Sort(ids)
	fmt.Println("left:", ids)
	// Output:
	// removed: 2
	// left: [w2]
}

// Get returns what was stored, whether or not it is still online.
func ExampleRegistry_Get() {
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	workers := heartbeat.New[WorkerHeartbeat](heartbeat.WithClock(func() time.Time { return now }))
	_ = workers.Update(WorkerHeartbeat{WorkerID: "w1", Model: "llama", SentAt: now.Add(-time.Hour)})
	info, ok := workers.Get("w1")
	fmt.Println(info.Model, ok, workers.IsOnline("w1"))
	_, ok = workers.Get("w9")
	fmt.Println(ok)
	// Output:
	// llama true false
	// false
}

// Update refuses an item without an ID and stores nothing.
func ExampleRegistry_Update() {
	workers := heartbeat.New[WorkerHeartbeat]()
	err := workers.Update(WorkerHeartbeat{SentAt: time.Now()})
	fmt.Println(err, workers.CountTotal())
	// Output: heartbeat: item has an empty ID 0
}

// WorkerRegistry is the original crate's worker registry, now a thin typed
// wrapper over the generic one.
type WorkerRegistry struct {
	*heartbeat.Registry[WorkerHeartbeat, WorkerInfo]
}

func NewWorkerRegistry(opts ...heartbeat.Option) WorkerRegistry {
	return WorkerRegistry{heartbeat.New[WorkerHeartbeat](opts...)}
}

// HiveHeartbeat is what a hive (a machine running workers) sends.
type HiveHeartbeat struct {
	HiveID  string
	Workers int
	SentAt  time.Time
}

// HiveInfo is what the scheduler keeps of a hive.
type HiveInfo struct {
	HiveID  string
	Workers int
}

func (h HiveHeartbeat) ID() string          { return h.HiveID }
func (h HiveHeartbeat) Info() HiveInfo      { return HiveInfo{h.HiveID, h.Workers} }
func (h HiveHeartbeat) IsAvailable() bool   { return h.Workers > 0 }
func (h HiveHeartbeat) LastSeen() time.Time { return h.SentAt }

// HiveRegistry is the original crate's hive registry, likewise.
type HiveRegistry struct {
	*heartbeat.Registry[HiveHeartbeat, HiveInfo]
}

func NewHiveRegistry(opts ...heartbeat.Option) HiveRegistry {
	return HiveRegistry{heartbeat.New[HiveHeartbeat](opts...)}
}

// The crate's two registries, each a few lines over the generic one.
func Example_typedRegistries() {
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	clock := heartbeat.WithClock(func() time.Time { return now })
	workers, hives := NewWorkerRegistry(clock), NewHiveRegistry(clock)
	_ = workers.Update(WorkerHeartbeat{WorkerID: "w1", Model: "llama", SentAt: now})
	_ = hives.Update(HiveHeartbeat{HiveID: "h1", Workers: 4, SentAt: now})
	_ = hives.Update(HiveHeartbeat{HiveID: "h2", Workers: 0, SentAt: now})
	fmt.Println("workers online:", workers.CountOnline())
	fmt.Println("hives available:", hives.ListAvailable())
	// Output:
	// workers online: 1
	// hives available: [{h1 4}]
}

// A janitor removes stale items on its own, and events tell the scheduler
// as it happens. Close stops both.
func ExampleWithEvents() {
	expired := make(chan string)
	workers := heartbeat.New[WorkerHeartbeat](
		heartbeat.WithTimeout(100*time.Millisecond),
		heartbeat.WithCleanupInterval(10*time.Millisecond),
		heartbeat.WithEvents(func(e heartbeat.Event) {
			fmt.Println(e.ID, e.Kind)
			if e.Kind == heartbeat.EventExpired {
				expired <- e.ID
			}
		}),
	)
	defer workers.Close()
	_ = workers.Update(WorkerHeartbeat{WorkerID: "w1", SentAt: time.Now()})
	<-expired // 100 ms later, at the janitor's next run
	// Output:
	// w1 online
	// w1 available
	// w1 stale
	// w1 expired
}

// The iterators hold no lock while the loop body runs and allocate nothing
// per item; breaking out early costs only what was visited.
func ExampleRegistry_Available() {
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	workers := heartbeat.New[WorkerHeartbeat](heartbeat.WithClock(func() time.Time { return now }))
	for i, model := range []string{"llama", "qwen", "llama"} {
		_ = workers.Update(WorkerHeartbeat{WorkerID: fmt.Sprint("w", i), Model: model, SentAt: now})
	}
	n := 0
	for _, w := range workers.Available() {
		if w.Model == "llama" {
			n++
		}
	}
	fmt.Println(n, "llama workers available")
	// Output: 2 llama workers available
}

// PickAvailable answers "give me an available worker" without building a
// list; successive calls spread over the fleet.
func ExampleRegistry_PickAvailable() {
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	workers := heartbeat.New[WorkerHeartbeat](heartbeat.WithClock(func() time.Time { return now }))
	_ = workers.Update(WorkerHeartbeat{WorkerID: "w1", Model: "llama", Busy: true, SentAt: now})
	_ = workers.Update(WorkerHeartbeat{WorkerID: "w2", Model: "qwen", SentAt: now})
	w, ok := workers.PickAvailable(func(w WorkerHeartbeat) bool { return w.Model == "qwen" })
	fmt.Println(w.WorkerID, ok)
	// Output: w2 true
}

// Stats are cheap to read; publish them however the service exports
// metrics (the README shows expvar and Prometheus), without the registry
// importing either.
func ExampleRegistry_Stats() {
	workers := heartbeat.New[WorkerHeartbeat]()
	_ = workers.Update(WorkerHeartbeat{WorkerID: "w1", SentAt: time.Now()})
	_ = workers.Update(WorkerHeartbeat{WorkerID: "w1", SentAt: time.Now()})
	st := workers.Stats()
	fmt.Println(st.Updates, "updates,", st.Inserts, "insert")
	// Output: 2 updates, 1 insert
}
