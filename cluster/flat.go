package cluster

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"runtime/debug"
	"sync/atomic"

	"golang.org/x/sync/errgroup"

	"github.com/pcct-dev/pcct/core"
)

// Options configures how an algorithm of this package runs. Results do not
// depend on it.
type Options struct {
	// Jobs is the number of goroutines; values below 1 mean 1 and values
	// above GOMAXPROCS mean GOMAXPROCS.
	Jobs int
	// Monitor, if not nil, can stop the call, which then returns
	// core.ErrStopped; its Done word is increased by the nodes searched.
	Monitor *core.Monitor
}

func (o Options) jobs() int { return min(max(o.Jobs, 1), runtime.GOMAXPROCS(0)) }

func (o Options) stopped() bool {
	m := o.Monitor
	return m != nil && m.Stop != nil && atomic.LoadInt64(m.Stop) != 0
}

func (o Options) add(n int) {
	if m := o.Monitor; m != nil && m.Done != nil {
		atomic.AddInt64(m.Done, int64(n))
	}
}

// flatTree is a compact copy of one tree version's nodes, which the
// searches of this package read. Nodes are numbered as core lays out a
// built tree: the root is 0 and the children of every node have
// consecutive numbers, kidLo[k]..kidHi[k]-1, larger than their parent's,
// so that a search reads each block of children (their points, radii and
// flags) sequentially, and a pass over the numbers in reverse visits
// children before parents. It holds a second copy of the distinct points.
type flatTree[T core.Float] struct {
	t     *core.Tree[T]
	dim   int
	n     int       // nodes
	pts   []T       // n*dim coordinates, as the tree stores them
	rad   []float64 // bound on the distance from a node to its descendants
	reach []float64 // bound on the distance from a node's parent to its subtree
	par   []int32   // parent, -1 for the root
	kidLo []int32
	kidHi []int32
	idOff []int32 // n+1 offsets into ids
	ids   []int32 // caller indices of each node, ascending
	// live are the tree's caller indices, ascending, and pos maps a caller
	// index to its position among them (-1 for a deleted one).
	live []int64
	pos  []int32
}

// flatten copies t's nodes. t must not be empty.
func flatten[T core.Float](t *core.Tree[T]) (*flatTree[T], error) {
	root, ok := t.Root()
	if !ok {
		return nil, fmt.Errorf("cluster: the tree is empty")
	}
	n := t.Nodes()
	dim := t.Dim()
	f := &flatTree[T]{
		t:     t,
		dim:   dim,
		n:     n,
		pts:   make([]T, n*dim),
		rad:   make([]float64, n),
		reach: make([]float64, n),
		par:   make([]int32, n),
		kidLo: make([]int32, n),
		kidHi: make([]int32, n),
		idOff: make([]int32, n+1),
	}
	nodes := make([]core.Node[T], 1, n)
	nodes[0] = root
	f.par[0] = -1
	// Depth first over the numbered nodes; a node's children are numbered
	// as a block when it is reached.
	stack := []int32{0}
	for len(stack) > 0 {
		k := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		nd := nodes[k]
		m := nd.NumChildren()
		if len(nodes)+m > n {
			return nil, fmt.Errorf("cluster: the tree reports %d nodes but holds more", n)
		}
		f.kidLo[k] = int32(len(nodes))
		for i := range m {
			f.par[len(nodes)] = k
			nodes = append(nodes, nd.Child(i))
		}
		f.kidHi[k] = int32(len(nodes))
		for c := f.kidHi[k] - 1; c >= f.kidLo[k]; c-- {
			stack = append(stack, c)
		}
	}
	if len(nodes) != n {
		return nil, fmt.Errorf("cluster: the tree reports %d nodes but %d are reachable", n, len(nodes))
	}
	f.ids = make([]int32, 0, t.Len())
	for k, nd := range nodes {
		copy(f.pts[k*dim:], nd.Point())
		f.rad[k] = nd.Radius()
		f.reach[k] = nd.Reach()
		f.ids = append(f.ids, nd.IDs()...)
		f.idOff[k+1] = int32(len(f.ids))
	}
	f.live = t.LiveIDs(make([]int64, 0, t.Len()))
	f.pos = make([]int32, t.IDs())
	for i := range f.pos {
		f.pos[i] = -1
	}
	for i, id := range f.live {
		f.pos[id] = int32(i)
	}
	return f, nil
}

func (f *flatTree[T]) point(k int32) []T {
	o := int(k) * f.dim
	return f.pts[o : o+f.dim : o+f.dim]
}

// hasKids reports whether node k has children.
func (f *flatTree[T]) hasKids(k int32) bool { return f.kidHi[k] > f.kidLo[k] }

func (f *flatTree[T]) idsOf(k int32) []int32 { return f.ids[f.idOff[k]:f.idOff[k+1]] }

// firstID returns node k's smallest caller index, which names it in ties.
func (f *flatTree[T]) firstID(k int32) int32 { return f.ids[f.idOff[k]] }

// forBlocks calls fn(w, lo, hi) over blocks [lo, hi) covering 0..n-1 on at
// most jobs goroutines numbered w. It stops handing out blocks once the
// monitor asks to stop (returning core.ErrStopped), and turns a worker's
// panic into an error.
func forBlocks(n, grain int, o Options, fn func(w, lo, hi int)) error {
	if n <= 0 {
		return nil
	}
	blocks := (n + grain - 1) / grain
	jobs := min(o.jobs(), blocks)
	var next atomic.Int64
	var g errgroup.Group
	for w := range jobs {
		g.Go(func() (err error) {
			defer func() {
				if r := recover(); r != nil {
					err = fmt.Errorf("%w: a worker panicked: %v\n%s", ErrInternal, r, debug.Stack())
				}
			}()
			for {
				if o.stopped() {
					return core.ErrStopped
				}
				b := int(next.Add(1) - 1)
				if b >= blocks {
					return nil
				}
				lo, hi := b*grain, min((b+1)*grain, n)
				fn(w, lo, hi)
				o.add(hi - lo)
			}
		})
	}
	return g.Wait()
}

// ErrInternal is wrapped by the error an entry point of this package
// returns when it recovered from a panic: a bug, not a bad argument.
var ErrInternal = errors.New("cluster: internal error")

// catch converts a panic into an error for an entry point of the package.
func catch(err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("%w: %v\n%s", ErrInternal, r, debug.Stack())
	}
}

// atomicMin lowers the non-negative float64 stored as bits in a to v if v
// is smaller. The bits of non-negative floats order as the floats do.
func atomicMin(a *atomic.Uint64, v float64) {
	nb := math.Float64bits(v)
	for {
		ob := a.Load()
		if nb >= ob || a.CompareAndSwap(ob, nb) {
			return
		}
	}
}
