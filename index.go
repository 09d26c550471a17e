package heartbeat

// index maps a shard's IDs to node indices. It replaces a Go map for two
// reasons, both measured (see README, Performance): a slot is 8 bytes (a map
// of string to int32 costs 56 bytes per entry at 10^6, and stores the key a
// second time), and a lookup touches one dense slot array instead of a map
// group of 24-byte slots.
//
// It is extendible hashing over small open-addressing tables: a directory,
// indexed by the top bits of the key's 32-bit tag, points to tables of at
// most 1024 slots with linear probing. A full table doubles, or once at the
// maximum size splits in two, so growing rehashes at most 1024 entries at a
// time: the pause a growing shard imposes is microseconds at any fleet size.
// Deletion shifts the rest of the probe run back (no tombstones).
//
// A slot holds the tag in its high half and node index + 1 in its low half;
// 0 is empty. The tag is the high 32 bits of the key's xxhash (the shard is
// chosen by the low bits), so a tag match is a near-certain hit, confirmed by
// comparing the key stored in the node.
const (
	minTableBits = 3
	maxTableBits = 10
)

type table struct {
	slots []uint64
	n     int   // occupied slots
	depth uint8 // how many top tag bits all of its keys share
}

type index[T any] struct {
	nodes *slab[T]
	dir   []*table
	depth uint8 // global depth: len(dir) == 1 << depth
}

func (x *index[T]) init(nodes *slab[T]) {
	x.nodes = nodes
	x.dir = []*table{{slots: make([]uint64, 1<<minTableBits)}}
}

func tagOf(h uint64) uint32 { return uint32(h >> 32) }

func (x *index[T]) table(tag uint32) *table {
	return x.dir[uint64(tag)>>(32-x.depth)&(1<<x.depth-1)]
}

// find returns the node index stored for id (whose tag is tag), and the
// table and slot where it is, or nilIndex.
func (x *index[T]) find(tag uint32, id string) (int32, *table, int) {
	t := x.table(tag)
	mask := len(t.slots) - 1
	for p := int(tag) & mask; ; p = (p + 1) & mask {
		s := t.slots[p]
		if s == 0 {
			return nilIndex, nil, 0
		}
		if uint32(s>>32) == tag {
			if i := int32(uint32(s)) - 1; x.nodes.at(i).key == id {
				return i, t, p
			}
		}
	}
}

// insert adds node i under tag; the caller has checked that its key is
// absent.
func (x *index[T]) insert(tag uint32, i int32) {
	t := x.table(tag)
	for (t.n+1)*4 > len(t.slots)*3 { // keep the load at most 3/4
		x.grow(t)
		t = x.table(tag)
	}
	t.put(uint64(tag)<<32 | uint64(uint32(i+1)))
	t.n++
}

func (t *table) put(s uint64) {
	mask := len(t.slots) - 1
	p := int(uint32(s>>32)) & mask
	for t.slots[p] != 0 {
		p = (p + 1) & mask
	}
	t.slots[p] = s
}

// grow doubles table t, or splits it in two once it is at the maximum size.
// A split that would not divide the entries (all share the next tag bit,
// which only colliding hashes do) doubles the table instead, so that
// crafted IDs cost probe length, not an endlessly growing directory.
func (x *index[T]) grow(t *table) {
	split := len(t.slots) >= 1<<maxTableBits && t.depth < 32
	var bit uint8
	if split {
		bit = 31 - t.depth // the tag bit that tells the halves apart
		ones := 0
		for _, s := range t.slots {
			ones += int(uint32(s>>32) >> bit & 1)
		}
		split = ones != 0 && ones != t.n
	}
	if !split {
		old := t.slots
		t.slots = make([]uint64, 2*len(old))
		for _, s := range old {
			if s != 0 {
				t.put(s)
			}
		}
		return
	}
	if t.depth == x.depth {
		dir := make([]*table, 2*len(x.dir))
		for j := range dir {
			dir[j] = x.dir[j>>1]
		}
		x.dir = dir
		x.depth++
	}
	halves := [2]*table{
		{slots: make([]uint64, len(t.slots)), depth: t.depth + 1},
		{slots: make([]uint64, len(t.slots)), depth: t.depth + 1},
	}
	for _, s := range t.slots {
		if s != 0 {
			h := halves[uint32(s>>32)>>bit&1]
			h.put(s)
			h.n++
		}
	}
	shift := x.depth - t.depth - 1 // the same bit, in a directory position
	for j := range x.dir {
		if x.dir[j] == t {
			x.dir[j] = halves[j>>shift&1]
		}
	}
}

// delete empties slot p of table t and shifts back the entries after it in
// the probe run that may use the hole.
func (t *table) delete(p int) {
	mask := len(t.slots) - 1
	t.n--
	for q := (p + 1) & mask; ; q = (q + 1) & mask {
		s := t.slots[q]
		if s == 0 {
			t.slots[p] = 0
			return
		}
		home := int(uint32(s>>32)) & mask
		if (q-home)&mask >= (q-p)&mask { // the hole is on s's probe path
			t.slots[p] = s
			p = q
		}
	}
}
