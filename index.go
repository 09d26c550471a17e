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

// A table is a power-of-two array of slots plus one last word that holds its
// bookkeeping (occupied slots in the low 32 bits, depth above), so that the
// directory holds the slot arrays themselves and a lookup follows no pointer
// to a table header.
type table []uint64

func newTable(size int, depth uint8) table {
	t := make(table, size+1)
	t[size] = uint64(depth) << 32
	return t
}

func (t table) mask() int      { return len(t) - 2 }
func (t table) count() int     { return int(uint32(t[len(t)-1])) }
func (t table) depth() uint8   { return uint8(t[len(t)-1] >> 32) }
func (t table) addCount(d int) { t[len(t)-1] = uint64(int64(t[len(t)-1]) + int64(d)) }

type index[T any] struct {
	nodes *slab[T]
	dir   []table // several entries share one table while its depth < depth
	depth uint8   // global depth: len(dir) == 1 << depth
}

func (x *index[T]) init(nodes *slab[T]) {
	x.nodes = nodes
	x.dir = []table{newTable(1<<minTableBits, 0)}
}

func tagOf(h uint64) uint32 { return uint32(h >> 32) }

func (x *index[T]) dirPos(tag uint32) int {
	return int(uint64(tag) >> (32 - x.depth) & (1<<x.depth - 1))
}

// find returns the node index stored for id (whose tag is tag), and the
// table and slot where it is, or nilIndex.
func (x *index[T]) find(tag uint32, id string) (int32, table, int) {
	t := x.dir[x.dirPos(tag)]
	mask := t.mask()
	for p := int(tag) & mask; ; p = (p + 1) & mask {
		s := t[p]
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
	j := x.dirPos(tag)
	for t := x.dir[j]; (t.count()+1)*4 > t.mask()*3+3; t = x.dir[j] { // load at most 3/4
		x.grow(j)
		j = x.dirPos(tag)
	}
	t := x.dir[j]
	t.put(uint64(tag)<<32 | uint64(uint32(i+1)))
	t.addCount(1)
}

func (t table) put(s uint64) {
	mask := t.mask()
	p := int(uint32(s>>32)) & mask
	for t[p] != 0 {
		p = (p + 1) & mask
	}
	t[p] = s
}

// grow doubles the table at directory position j, or splits it in two once
// it is at the maximum size.
func (x *index[T]) grow(j int) {
	t := x.dir[j]
	size, depth := t.mask()+1, t.depth()
	if size < 1<<maxTableBits {
		bigger := newTable(2*size, depth)
		for _, s := range t[:size] {
			if s != 0 {
				bigger.put(s)
			}
		}
		bigger.addCount(t.count())
		x.replace(t, func(int) table { return bigger })
		return
	}
	if depth == x.depth {
		dir := make([]table, 2*len(x.dir))
		for k := range dir {
			dir[k] = x.dir[k>>1]
		}
		x.dir = dir
		x.depth++
	}
	bit := 31 - depth // the tag bit that now tells the halves apart
	halves := [2]table{newTable(size, depth+1), newTable(size, depth+1)}
	for _, s := range t[:size] {
		if s != 0 {
			h := halves[uint32(s>>32)>>bit&1]
			h.put(s)
			h.addCount(1)
		}
	}
	shift := x.depth - depth - 1 // the same bit, in a directory position
	x.replace(t, func(k int) table { return halves[k>>shift&1] })
}

// replace points every directory entry that shares table t at with(entry).
func (x *index[T]) replace(t table, with func(k int) table) {
	for k := range x.dir {
		if &x.dir[k][0] == &t[0] {
			x.dir[k] = with(k)
		}
	}
}

// delete empties slot p of table t and shifts back the entries after it in
// the probe run that may use the hole.
func (t table) delete(p int) {
	mask := t.mask()
	t.addCount(-1)
	for q := (p + 1) & mask; ; q = (q + 1) & mask {
		s := t[q]
		if s == 0 {
			t[p] = 0
			return
		}
		home := int(uint32(s>>32)) & mask
		if (q-home)&mask >= (q-p)&mask { // the hole is on s's probe path
			t[p] = s
			p = q
		}
	}
}
