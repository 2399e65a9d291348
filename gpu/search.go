package gpu

import (
	"fmt"
	"math"
	"runtime"
	"sync/atomic"

	"github.com/pcct-dev/pcct/core"
)

// Index is a point set (a core.Flat) resident on a device, for
// brute-force search. It answers exactly as core does on the CPU: the GPU
// selects candidate rows with a proven margin, and the Flat measures them
// (see the package documentation).
type Index[T core.Float] struct {
	dev  *Device
	flat *core.Flat[T]
	md   mode
	f32  bool
	n    int
	dim  int
	mean []float64 // the centre of modeDot, else nil
	xmax float64   // the largest centred norm of a point (modeDot)
	pts  buffer    // n x dim values of T
	nrm  buffer    // n squared norms of T (modeDot)
	// memBudget caps the device memory a search allocates; 0 means a
	// share of the free memory.
	memBudget int64
	// noMargin drops the error bound (tests show it is needed).
	noMargin bool
}

// NewIndex copies the points of flat to the device. Its metric must be one
// the kernels compute (ErrUnsupportedMetric otherwise).
func NewIndex[T core.Float](dev *Device, flat *core.Flat[T]) (*Index[T], error) {
	md, err := modeFor(flat.Metric(), flat.Dim())
	if err != nil {
		return nil, err
	}
	pts := flat.Points()
	ix := &Index[T]{dev: dev, flat: flat, md: md, f32: isF32[T](), n: flat.Len(), dim: flat.Dim()}
	if ix.n == 0 {
		return nil, fmt.Errorf("gpu: no points")
	}
	if md == modeDot {
		pts = append([]T(nil), pts...)
		ix.mean, ix.xmax = centre(pts, ix.dim)
	}
	dev.mu.Lock()
	defer dev.mu.Unlock()
	be := dev.be
	a := allocs{be: be}
	ix.pts = a.get(bytesOf[T](len(pts)))
	if md == modeDot {
		ix.nrm = a.get(bytesOf[T](ix.n))
	}
	if a.err == nil {
		a.err = uploadSlice(be, ix.pts, pts)
	}
	if a.err == nil && md == modeDot {
		a.err = be.launch(ix.kernel("pcct_sqnorm"), [3]int{ceilDiv(ix.n, rowThreads), 1, 1}, [3]int{rowThreads, 1, 1},
			ix.pts.ptr, ix.nrm.ptr, i64(ix.n), i64(ix.dim))
	}
	if a.err != nil {
		a.release()
		return nil, a.err
	}
	return ix, nil
}

// Close frees the index's device memory.
func (ix *Index[T]) Close() error {
	ix.dev.mu.Lock()
	defer ix.dev.mu.Unlock()
	a := allocs{be: ix.dev.be, bufs: []buffer{ix.pts}}
	if ix.md == modeDot {
		a.bufs = append(a.bufs, ix.nrm)
	}
	a.release()
	return nil
}

// Flat returns the point set the index was made from.
func (ix *Index[T]) Flat() *core.Flat[T] { return ix.flat }

func isF32[T core.Float]() bool {
	var zero T
	_, ok := any(zero).(float32)
	return ok
}

// kernel returns the name of a kernel's variant for T.
func (ix *Index[T]) kernel(base string) string {
	if ix.f32 {
		return base + "_f32"
	}
	return base + "_f64"
}

// centre centres pts (n x dim) on their mean, in place (each value
// rounded once to T), and returns the mean and the largest centred norm,
// measured in float64 on the stored values.
func centre[T core.Float](pts []T, dim int) (mean []float64, xmax float64) {
	n := len(pts) / dim
	mean = make([]float64, dim)
	for i := range n {
		for j, v := range pts[i*dim : (i+1)*dim] {
			mean[j] += float64(v)
		}
	}
	for j := range mean {
		mean[j] /= float64(n)
	}
	for i := range n {
		row := pts[i*dim : (i+1)*dim]
		var s float64
		for j := range row {
			row[j] = T(float64(row[j]) - mean[j])
			s += float64(row[j]) * float64(row[j])
		}
		xmax = max(xmax, math.Sqrt(s))
	}
	return mean, xmax * (1 + 4*u64*float64(dim+2))
}

// queryChunk returns how many queries a search can take at a time within
// the device memory it may use: the distance matrix (n float32 values per
// query), the queries and their norms, and the per-query words.
func (ix *Index[T]) queryChunk(nq int) (int, error) {
	budget := ix.memBudget
	if budget <= 0 {
		free, _, err := ix.dev.be.memInfo()
		if err != nil {
			return 0, err
		}
		budget = min(free/2, 16<<30)
	}
	per := int64(ix.n)*4 + bytesOf[T](ix.dim+1) + 32
	mc := int(min(budget/per, int64(maxQueryRow)))
	if mc < 1 {
		return 0, fmt.Errorf("%w: %d points do not leave room for one query's distances in %d bytes", ErrOutOfMemory, ix.n, budget)
	}
	// Whole tiles, and no larger than needed.
	if mc >= tile {
		mc -= mc % tile
	}
	return min(mc, max(nq, 1)), nil
}

// KNearest writes the k nearest neighbours of the queries q (prepared by
// the Flat, or a tree's Queries) to dist and idx, exactly as
// Flat().KNearestAmong with every row as a candidate does, and so as a
// tree of the same points does.
func (ix *Index[T]) KNearest(q core.Query[T], k int, dist []T, idx []int64) error {
	// A fitted point's own row is among the candidates and is left out by
	// the Flat: select k+1 so that k others remain.
	kk := k
	if q.Exclude != nil {
		kk++
	}
	if k < 1 || kk > ix.n || len(q.Points)%ix.dim != 0 {
		// Let the Flat word the error.
		return ix.flat.KNearestAmong(q, k, core.Candidates{Offsets: make([]int64, len(q.Points)/ix.dim+1)}, dist, idx)
	}
	cand, err := ix.gather(q.Points, q.Monitor, func(qs []T, kth []float32, thr []float32) {
		for i := range thr {
			thr[i] = knnThreshold(float64(kth[i]), ix.bound(qs[i*ix.dim:(i+1)*ix.dim]))
		}
	}, kk)
	if err != nil {
		return err
	}
	return ix.flat.KNearestAmong(q, k, cand, dist, idx)
}

// Within finds every point within distance r of each query of q, exactly
// as Flat().WithinAmong with every row as a candidate does.
func (ix *Index[T]) Within(q core.Query[T], r float64, sorted bool) (*core.RadiusResult[T], error) {
	if math.IsNaN(r) || r < 0 {
		return nil, fmt.Errorf("gpu: radius must be >= 0, got %v", r)
	}
	if len(q.Points)%ix.dim != 0 {
		return nil, fmt.Errorf("gpu: %d query values do not make rows of dimension %d", len(q.Points), ix.dim)
	}
	dmax := kernelRadius(ix.md, ix.flat.KernelRadius(r))
	cand, err := ix.gather(q.Points, q.Monitor, func(qs []T, _ []float32, thr []float32) {
		for i := range thr {
			thr[i] = radiusThreshold(dmax, ix.bound(qs[i*ix.dim:(i+1)*ix.dim]))
		}
	}, 0)
	if err != nil {
		return nil, err
	}
	return ix.flat.WithinAmong(q, r, sorted, cand)
}

// bound returns the error bound of the stored values of one query, given
// as the kernel sees it (centred for modeDot).
func (ix *Index[T]) bound(q []T) bound {
	if ix.noMargin {
		return bound{}
	}
	if ix.md != modeDot {
		return directBound(ix.md, ix.dim, ix.f32)
	}
	var s float64
	for _, v := range q {
		s += float64(v) * float64(v)
	}
	return dotBound(ix.dim, ix.f32, math.Sqrt(s)*(1+4*u64*float64(ix.dim+2)), ix.xmax)
}

// gather runs the queries q (prepared, row-major) through the GPU in
// chunks and returns each query's candidates: the points whose stored
// value is within the threshold that thresholds sets for it. With kk > 0,
// thresholds gets each query's kk-th smallest stored value.
func (ix *Index[T]) gather(q []T, mon *core.Monitor, thresholds func(qs []T, kth, thr []float32), kk int) (core.Candidates, error) {
	nq := len(q) / ix.dim
	cand := core.Candidates{Offsets: make([]int64, 1, nq+1)}
	if nq == 0 {
		return cand, nil
	}
	ix.dev.mu.Lock()
	defer ix.dev.mu.Unlock()
	mc, err := ix.queryChunk(nq)
	if err != nil {
		return cand, err
	}
	be := ix.dev.be
	a := allocs{be: be}
	defer a.release()
	dq := a.get(bytesOf[T](mc * ix.dim))
	dqn := a.get(bytesOf[T](mc))
	dd := a.get(int64(mc) * int64(ix.n) * 4)
	dkth := a.get(int64(mc) * 4)
	dthr := a.get(int64(mc) * 4)
	dcnt := a.get(int64(mc) * 8)
	if a.err != nil {
		return cand, a.err
	}
	var stage []T // centred queries (modeDot)
	if ix.md == modeDot {
		stage = make([]T, mc*ix.dim)
	}
	kth := make([]float32, mc)
	thr := make([]float32, mc)
	counts := make([]int64, mc)
	offsets := make([]int64, mc)
	var rows []int32
	var dids buffer
	for lo := 0; lo < nq; lo += mc {
		if mon != nil && mon.Stop != nil && atomic.LoadInt64(mon.Stop) != 0 {
			return cand, core.ErrStopped
		}
		m := min(mc, nq-lo)
		qs := q[lo*ix.dim : (lo+m)*ix.dim]
		if stage != nil {
			qs = stage[:m*ix.dim]
			for i, v := range q[lo*ix.dim : (lo+m)*ix.dim] {
				qs[i] = T(float64(v) - ix.mean[i%ix.dim])
			}
		}
		if err := uploadSlice(be, dq, qs); err != nil {
			return cand, err
		}
		if ix.md == modeDot {
			if err := be.launch(ix.kernel("pcct_sqnorm"), [3]int{ceilDiv(m, rowThreads), 1, 1}, [3]int{rowThreads, 1, 1},
				dq.ptr, dqn.ptr, i64(m), i64(ix.dim)); err != nil {
				return cand, err
			}
		}
		if err := be.launch(ix.kernel("pcct_dist"), [3]int{ceilDiv(ix.n, tile), ceilDiv(m, tile), 1}, [3]int{16, 16, 1},
			dq.ptr, ix.pts.ptr, dqn.ptr, ix.nrm.ptr, dd.ptr, i64(m), i64(ix.n), i64(ix.dim), uint64(ix.md)); err != nil {
			return cand, err
		}
		if kk > 0 {
			if err := be.launch("pcct_kth", [3]int{m, 1, 1}, [3]int{rowThreads, 1, 1},
				dd.ptr, i64(ix.n), i64(kk), dkth.ptr); err != nil {
				return cand, err
			}
			if err := downloadSlice(be, kth[:m], dkth); err != nil {
				return cand, err
			}
		}
		thresholds(qs, kth[:m], thr[:m])
		if err := uploadSlice(be, dthr, thr[:m]); err != nil {
			return cand, err
		}
		if err := be.launch("pcct_count", [3]int{m, 1, 1}, [3]int{rowThreads, 1, 1},
			dd.ptr, i64(ix.n), dthr.ptr, dcnt.ptr); err != nil {
			return cand, err
		}
		if err := downloadSlice(be, counts[:m], dcnt); err != nil {
			return cand, err
		}
		var total int64
		for i, c := range counts[:m] {
			offsets[i] = total
			total += c
		}
		if total > int64(math.MaxInt32) || int64(len(cand.Rows))+total > int64(math.MaxInt) {
			return cand, fmt.Errorf("gpu: %d candidates for %d queries are too many", total, m)
		}
		if int64(cap(rows)) < total || dids.size < total*4 {
			rows = make([]int32, total)
			if dids.size > 0 {
				be.free(dids)
				a.bufs = a.bufs[:len(a.bufs)-1]
			}
			dids = a.get(total * 4)
			if a.err != nil {
				return cand, a.err
			}
		}
		rows = rows[:total]
		if err := uploadSlice(be, dcnt, offsets[:m]); err != nil {
			return cand, err
		}
		if err := be.launch("pcct_fill", [3]int{m, 1, 1}, [3]int{rowThreads, 1, 1},
			dd.ptr, i64(ix.n), dthr.ptr, dcnt.ptr, dids.ptr); err != nil {
			return cand, err
		}
		if err := downloadSlice(be, rows, dids); err != nil {
			return cand, err
		}
		for i := range m {
			cand.Rows = append(cand.Rows, rows[offsets[i]:offsets[i]+counts[i]]...)
			cand.Offsets = append(cand.Offsets, int64(len(cand.Rows)))
		}
	}
	return cand, nil
}

// The GPU search's cost model, in seconds: a fixed cost per search (launches,
// copies, the CPU's re-ranking set-up), a cost per query-point pair and per
// coordinate of it, and a cost per answer. Fitted to `make gpu-check`'s
// crossover table on an H200 (gpu/check/crossover.py, 2026-11-30: k = 10,
// float32, 2,000 to 100,000 queries against 20,000 to 1,000,000 points of 3
// to 784 coordinates; the model is within 35% of every warm measurement),
// and BenchmarkGPUKNearest's k = 1000 for the cost per answer.
const (
	gpuFixed  = 4e-3
	gpuPair   = 34e-12
	gpuCoord  = 0.35e-12
	gpuAnswer = 25e-9
)

// Prefer reports whether a search for the k nearest of n points of
// dimension dim, for each of nq queries on jobs threads (at most
// GOMAXPROCS), is expected to end sooner on the GPU than on the CPU, where
// one query costs cpuQuery() seconds on one thread (core's
// Tree.QuerySeconds or BruteForce.QuerySeconds). A caller that leaves the
// choice to pcct (device "auto") runs it there: a brute force on the GPU
// beats the CPU's brute force from a few million pairs on, but a tree that
// measures a few hundred points a query in 2 or 3 dimensions answers even
// 100,000 queries against 1,000,000 points several times sooner on 16 CPU
// threads than the GPU does (0.44 s against 3.4 s measured).
//
// cpuQuery is called only where the GPU could win against a CPU search
// that measures every point at cpuWorst seconds a pair (a tree's first
// query on a version measures a sample of queries, which a small search
// should not pay for).
func Prefer(n, nq, dim, k, jobs int, cpuQuery func() (float64, error)) (bool, error) {
	pairs := float64(n) * float64(nq)
	gpu := gpuFixed + pairs*(gpuPair+gpuCoord*float64(dim)) + float64(nq)*float64(k)*gpuAnswer
	threads := float64(min(max(jobs, 1), runtime.GOMAXPROCS(0)))
	if gpu >= pairs*(cpuWorst+cpuWorstCoord*float64(dim))/threads {
		return false, nil
	}
	q, err := cpuQuery()
	if err != nil {
		return false, err
	}
	return gpu < float64(nq)*q/threads, nil
}

// A bound above any CPU search's seconds per query-point pair on one
// thread (core's cost model puts a tree's at 25 ns plus 0.5 ns a
// coordinate, and measures fewer pairs).
const (
	cpuWorst      = 100e-9
	cpuWorstCoord = 2e-9
)
