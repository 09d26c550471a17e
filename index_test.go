package heartbeat

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/cespare/xxhash/v2"
	"github.com/stretchr/testify/require"
)

// TestIndexAgainstMap drives one shard's index through growth, splits of
// the directory and deletions with backward shifts, checking every key
// against a Go map after each phase.
func TestIndexAgainstMap(t *testing.T) {
	var nodes slab[int]
	nodes.free = nilIndex
	var x index[int]
	x.init(&nodes)
	want := map[string]int32{}
	rng := rand.New(rand.NewPCG(3, 4))
	check := func() {
		t.Helper()
		for k, i := range want {
			got, _, _ := x.find(tagOf(xxhash.Sum64String(k)), k)
			require.Equal(t, i, got, k)
		}
		n := 0
		for _, tb := range x.dir {
			n += tb.n
		}
		require.GreaterOrEqual(t, n, len(want)) // tables shared by directory entries count more than once
	}
	for round := range 6 {
		for range 20000 {
			k := fmt.Sprint("k", rng.IntN(60000))
			tag := tagOf(xxhash.Sum64String(k))
			i, tb, p := x.find(tag, k)
			if round%2 == 0 || rng.IntN(3) > 0 { // insert-heavy, then delete-heavy rounds
				if i == nilIndex {
					i = nodes.alloc()
					nodes.at(i).key = k
					x.insert(tag, i)
					want[k] = i
				}
				continue
			}
			if i != nilIndex {
				tb.delete(p)
				nodes.release(i)
				delete(want, k)
			}
		}
		check()
		missing := fmt.Sprint("absent", round)
		got, _, _ := x.find(tagOf(xxhash.Sum64String(missing)), missing)
		require.Equal(t, int32(nilIndex), got)
	}
	require.Greater(t, x.depth, uint8(3), "the directory split several times")
}

// TestIndexCollidingTags stores thousands of keys under one tag, as IDs
// crafted to collide in xxhash would: the tables must grow instead of
// splitting the directory forever, and every key must stay findable.
func TestIndexCollidingTags(t *testing.T) {
	var nodes slab[int]
	nodes.free = nilIndex
	var x index[int]
	x.init(&nodes)
	const tag = 0xDEADBEEF
	for k := range 3000 {
		i := nodes.alloc()
		nodes.at(i).key = fmt.Sprint("collide", k)
		x.insert(tag, i)
	}
	require.Zero(t, x.depth, "no split can separate equal tags")
	for k := range 3000 {
		key := fmt.Sprint("collide", k)
		i, tb, p := x.find(tag, key)
		require.NotEqual(t, int32(nilIndex), i, key)
		if k%2 == 0 {
			tb.delete(p)
		}
	}
	for k := range 3000 {
		i, _, _ := x.find(tag, fmt.Sprint("collide", k))
		require.Equal(t, k%2 == 0, i == nilIndex, k)
	}
}
