"""pcct.dask.NearestNeighbors on a real distributed.LocalCluster: 2 worker
processes (started with spawn), answers equal to pcct.NearestNeighbors and
to brute force, updates, snapshots, a worker killed mid-query, and
shutdown.

The cluster is shared by the module; the tests that kill a worker and close
the cluster come last."""

from __future__ import annotations

import logging
import os
import signal
import threading
import time

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

import pcct  # noqa: E402
import pcct.dask  # noqa: E402
from conftest import check_kneighbors, check_radius, load_dataset, reference_distances  # noqa: E402

N_WORKERS = 2


@pytest.fixture(scope="module")
def cluster():
    cluster = distributed.LocalCluster(
        n_workers=N_WORKERS, threads_per_worker=1, processes=True, dashboard_address=None,
        silence_logs=logging.CRITICAL,
    )
    client = distributed.Client(cluster)
    yield cluster, client
    client.close()
    cluster.close()


@pytest.fixture
def client(cluster):
    cluster_, client = cluster
    if client.status != "running":
        pytest.skip("the module's cluster was closed by an earlier test")
    client.wait_for_workers(N_WORKERS, timeout=60)
    return client


def grid(n, d, seed, high=4):
    """Points on a small integer grid: full of duplicates and tied distances."""
    return np.random.default_rng(seed).integers(0, high, size=(n, d)).astype(np.float64)


def assert_same(a, b):
    """Two k-NN answers are identical: distances and ids, bit for bit."""
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert a[0].dtype == b[0].dtype and a[1].dtype == b[1].dtype


def radius_equal(a, b, sort):
    """Two radius answers (object arrays) hold the same (distance, id) pairs
    per query, in the same order when sorted."""
    assert len(a[1]) == len(b[1])
    for da_, ia, db, ib in zip(a[0], a[1], b[0], b[1]):
        if sort:
            np.testing.assert_array_equal(ia, ib)
            np.testing.assert_array_equal(da_, db)
        else:
            # Unsorted answers come by ascending id, on shards and alone.
            assert np.all(np.diff(ia) > 0) and np.all(np.diff(ib) > 0)
            np.testing.assert_array_equal(ia, ib)
            np.testing.assert_array_equal(da_, db)


# -- answers ---------------------------------------------------------------


@pytest.mark.parametrize("metric,p", [("euclidean", 2), ("manhattan", 1), ("chebyshev", np.inf),
                                      ("minkowski", 3), ("cosine", 2)])
def test_kneighbors_equal_single_machine_and_brute_force(client, metric, p):
    X = grid(1200, 5, 0) + (1 if metric == "cosine" else 0)  # cosine: no zero rows
    Q = grid(150, 5, 1) + (1 if metric == "cosine" else 0)
    p_ = p if metric == "minkowski" else None
    local = pcct.NearestNeighbors(n_neighbors=9, metric=metric, p=p_).fit(X)
    dist = pcct.dask.NearestNeighbors(n_neighbors=9, metric=metric, p=p_, n_shards=3).fit(X)
    got = dist.kneighbors(Q)
    assert isinstance(got[0], np.ndarray)
    assert_same(got, local.kneighbors(Q))
    check_kneighbors(*got, reference_distances(Q, X, metric, p), 9, np.float64)
    assert dist.effective_metric_ == local.effective_metric_
    assert dist.effective_metric_params_ == local.effective_metric_params_


def test_dask_arrays_in_and_out(client):
    X, Q = grid(2000, 4, 2), grid(300, 4, 3)
    Xd = da.from_array(X, chunks=(333, 2))  # column chunks too: rechunked
    Qd = da.from_array(Q, chunks=(64, 4))
    nn = pcct.dask.NearestNeighbors(n_neighbors=6).fit(Xd)
    assert nn.n_shards_ == N_WORKERS
    assert sorted(set(nn.shard_workers_)) == sorted(client.nthreads())
    dist, ind = nn.kneighbors(Qd)
    assert isinstance(dist, da.Array) and isinstance(ind, da.Array)
    assert dist.chunks == ((64, 64, 64, 64, 44), (6,))
    assert ind.dtype == np.int64
    local = pcct.NearestNeighbors(n_neighbors=6).fit(X)
    assert_same((dist.compute(), ind.compute()), local.kneighbors(Q))
    # k as large as the data: every shard gives all its points.
    assert_same(nn.kneighbors(Q[:20], n_neighbors=2000), local.kneighbors(Q[:20], n_neighbors=2000))
    # return_distance=False, numpy queries against a dask-fitted estimator.
    np.testing.assert_array_equal(nn.kneighbors(Q, return_distance=False), local.kneighbors(Q)[1])


def test_float32_kept_and_ties_by_id(client):
    X = grid(1500, 3, 4).astype(np.float32) / 3
    Q = grid(200, 3, 5).astype(np.float32) / 3
    nn = pcct.dask.NearestNeighbors(n_neighbors=8, n_shards=4).fit(X)
    dist, ind = nn.kneighbors(Q)
    assert dist.dtype == np.float32
    check_kneighbors(dist, ind, reference_distances(Q, X, "euclidean", 2), 8, np.float32)
    ld, li = pcct.NearestNeighbors(n_neighbors=8).fit(X).kneighbors(Q)
    np.testing.assert_array_equal(dist, ld)
    # The merge orders equal float32 distances by id; pcct ranks by the
    # float64 distance first, so ids may differ only inside a tie.
    differ = ind != li
    tied = (dist[:, 1:] == dist[:, :-1])
    tie_pos = np.zeros_like(differ)
    tie_pos[:, 1:] |= tied
    tie_pos[:, :-1] |= tied
    assert not (differ & ~tie_pos).any()


def test_real_dataset_letter(client, dataset_cache):
    X = load_dataset("letter", dataset_cache)
    rng = np.random.default_rng(6)
    X = X[rng.permutation(len(X))[:3500]]
    fit, Q = X[:3000], X[3000:]
    from sklearn.neighbors import NearestNeighbors as SkNN

    nn = pcct.dask.NearestNeighbors(n_neighbors=10).fit(da.from_array(fit, chunks=(700, 16)))
    got = nn.kneighbors(Q)
    assert_same(got, pcct.NearestNeighbors(n_neighbors=10).fit(fit).kneighbors(Q))
    sk = SkNN(n_neighbors=10, algorithm="brute").fit(fit).kneighbors(Q)
    check_kneighbors(*got, reference_distances(Q, fit, "euclidean", 2), 10, np.float64, sk=sk)
    r = nn.radius_neighbors(Q, radius=4.0, sort_results=True)
    check_radius(*r, reference_distances(Q, fit, "euclidean", 2), 4.0, np.float64, sorted_=True)


@pytest.mark.parametrize("sort", [False, True])
def test_radius_neighbors_equal_single_machine(client, sort):
    X, Q = grid(1500, 4, 7), grid(120, 4, 8)
    local = pcct.NearestNeighbors(radius=1.5).fit(X)
    nn = pcct.dask.NearestNeighbors(radius=1.5, n_shards=3).fit(X)
    got = nn.radius_neighbors(Q, sort_results=sort)
    radius_equal(got, local.radius_neighbors(Q, sort_results=sort), sort)
    check_radius(*got, reference_distances(Q, X, "euclidean", 2), 1.5, np.float64, sorted_=sort)
    # Dask queries: object dask arrays with the queries' chunks.
    dd, di = nn.radius_neighbors(da.from_array(Q, chunks=(50, 4)), sort_results=sort)
    assert isinstance(di, da.Array) and di.dtype == object and di.chunks == ((50, 50, 20),)
    radius_equal((dd.compute(), di.compute()), got, sort)
    far = nn.radius_neighbors(Q + 100, radius=0.5)  # every count equal (0)
    assert far[1].shape == (120,) and all(len(a) == 0 for a in far[1])
    ind_only = nn.radius_neighbors(Q, radius=0.0, return_distance=False)
    ref = local.radius_neighbors(Q, radius=0.0, return_distance=False)
    assert all(np.array_equal(np.sort(a), np.sort(b)) for a, b in zip(ind_only, ref))


def test_trees_stay_on_their_workers(client):
    """Each shard's future is held by exactly its pinned worker after
    queries: no tree was copied to another worker."""
    X = grid(3000, 4, 9)
    nn = pcct.dask.NearestNeighbors(n_neighbors=4).fit(X)
    for _ in range(3):
        nn.kneighbors(da.from_array(grid(500, 4, 10), chunks=(100, 4)))
    nn.radius_neighbors(grid(100, 4, 11), radius=1.0)
    shards = nn._state.shards
    who = client.who_has(shards)
    for f, worker in zip(shards, nn.shard_workers_):
        assert list(who[f.key]) == [worker]


# -- updates and snapshots -------------------------------------------------------


def test_updates_follow_single_machine(client):
    rng = np.random.default_rng(12)
    X = grid(900, 3, 12)
    local = pcct.NearestNeighbors(n_neighbors=7).fit(X)
    nn = pcct.dask.NearestNeighbors(n_neighbors=7, n_shards=3).fit(X)
    Q = grid(100, 3, 13)
    for step in range(6):
        new = grid(int(rng.integers(1, 300)), 3, 100 + step)
        new_d = da.from_array(new, chunks=(70, 3)) if step % 2 else new
        np.testing.assert_array_equal(nn.insert(new_d), local.insert(new))
        live = local.ids_
        gone = rng.choice(live, size=int(rng.integers(1, 200)), replace=False)
        local.delete(gone)
        assert nn.delete(gone) is nn
        assert nn.n_samples_fit_ == local.n_samples_fit_
        assert nn.n_ids_ == local.n_ids_
        np.testing.assert_array_equal(nn.ids_, local.ids_)
        assert_same(nn.kneighbors(Q), local.kneighbors(Q))
        radius_equal(nn.radius_neighbors(Q, 1.0, sort_results=True),
                     local.radius_neighbors(Q, 1.0, sort_results=True), True)
    sizes = [s["n_samples"] for s in nn.shard_info()]
    assert sum(sizes) == local.n_samples_fit_
    assert max(sizes) - min(sizes) <= 200  # insertions go to the smallest shards
    assert all(s["version"] > 0 for s in nn.shard_info())


def test_delete_errors_name_the_first_bad_id_and_change_nothing(client):
    X = grid(600, 3, 14)
    local = pcct.NearestNeighbors().fit(X)
    nn = pcct.dask.NearestNeighbors(n_shards=2).fit(X)
    local.delete([10, 400])
    nn.delete([10, 400])
    before = nn.shard_info()
    for bad in ([5, 400, 7], [500, 10], [3, 600], [3, 3, 10], [-1], [450, 2, 2, 10]):
        with pytest.raises(ValueError) as ours:
            nn.delete(bad)
        with pytest.raises(ValueError) as theirs:
            local.delete(bad)
        word = str(theirs.value).split(" is ")[0]  # "id 400"
        assert str(ours.value).startswith(word + " is "), (bad, str(ours.value), str(theirs.value))
        assert "Nothing was deleted" in str(ours.value)
    assert nn.shard_info() == before
    np.testing.assert_array_equal(nn.ids_, local.ids_)


def test_failed_insert_changes_nothing(client):
    X = grid(400, 3, 15)
    nn = pcct.dask.NearestNeighbors(n_shards=2).fit(X)
    before = nn.shard_info()
    bad = grid(300, 3, 16)
    bad[250] = np.nan  # in the part for the second shard
    with pytest.raises(ValueError, match="shard 1 .*NaN"):
        nn.insert(bad)
    assert nn.shard_info() == before and nn.n_ids_ == 400
    with pytest.raises(ValueError, match="features"):
        nn.insert(np.ones((2, 4)))
    np.testing.assert_array_equal(nn.insert(grid(5, 3, 17)), np.arange(400, 405))


def test_snapshot_keeps_its_answers(client):
    X, Q = grid(800, 3, 18), grid(60, 3, 19)
    nn = pcct.dask.NearestNeighbors(n_neighbors=5).fit(X)
    snap = nn.snapshot()
    before = snap.kneighbors(Q)
    nn.insert(Q)  # each query now has itself at distance 0
    nn.delete(np.arange(0, 800, 2))
    assert_same(snap.kneighbors(Q), before)
    assert snap.n_samples_fit_ == 800 and nn.n_samples_fit_ == 460
    assert [s["version"] for s in snap.shard_info()] == [0, 0]
    assert not np.array_equal(nn.kneighbors(Q)[1], before[1])
    for call in (lambda: snap.insert(Q), lambda: snap.delete([1]), lambda: snap.fit(X)):
        with pytest.raises(pcct.ReadOnlyError):
            call()


# -- bad input -------------------------------------------------------------------------


def test_bad_input_is_refused_before_any_work(client):
    X = grid(100, 3, 20)
    with pytest.raises(ValueError, match="metric"):
        pcct.dask.NearestNeighbors(metric="sqeuclidean").fit(X)
    with pytest.raises(ValueError, match="n_shards"):
        pcct.dask.NearestNeighbors(n_shards=0).fit(X)
    with pytest.raises(ValueError, match="2D"):
        pcct.dask.NearestNeighbors().fit(np.ones(5))
    with pytest.raises(TypeError, match="sparse"):
        import scipy.sparse as sp

        pcct.dask.NearestNeighbors().fit(sp.random(10, 3, format="csr"))
    bad = X.copy()
    bad[70] = np.inf
    with pytest.raises(ValueError, match=r"shard 1 \(rows 50 to 99\).*infinity"):
        pcct.dask.NearestNeighbors(n_shards=2).fit(bad)
    with pytest.raises(Exception, match="not fitted"):
        pcct.dask.NearestNeighbors().kneighbors(X)
    nn = pcct.dask.NearestNeighbors(n_neighbors=3).fit(X)
    with pytest.raises(ValueError, match="X=None"):
        nn.kneighbors()
    with pytest.raises(ValueError, match="features"):
        nn.kneighbors(np.ones((2, 4)))
    with pytest.raises(ValueError, match="n_neighbors <= n_samples_fit"):
        nn.kneighbors(X, n_neighbors=101)
    with pytest.raises(ValueError, match="NaN"):
        nn.kneighbors(np.full((2, 3), np.nan))
    with pytest.raises(ValueError, match="radius"):
        nn.radius_neighbors(X, radius=-1)
    with pytest.raises(TypeError, match="cannot be pickled"):
        import pickle

        pickle.dumps(nn)
    assert nn.kneighbors(np.empty((0, 3)))[1].shape == (0, 3)
    assert "n_shards=4" in repr(pcct.dask.NearestNeighbors(n_shards=4))


# -- faults and shutdown (last: they kill a worker and close the cluster) ----------


def test_worker_killed_mid_query_names_the_shard(client):
    rng = np.random.default_rng(21)
    X = rng.normal(size=(8000, 8))
    Q = rng.normal(size=(3000, 8))
    nn = pcct.dask.NearestNeighbors(n_neighbors=20, n_shards=2).fit(X)
    victim = nn.shard_workers_[1]
    assert victim != nn.shard_workers_[0]
    pid = client.run(os.getpid, workers=[victim])[victim]
    out = {}

    def query():
        try:
            out["answer"] = nn.kneighbors(Q)
        except BaseException as e:  # noqa: BLE001 - the test inspects it
            out["error"] = e

    thread = threading.Thread(target=query)
    thread.start()
    deadline = time.monotonic() + 60
    while not any("pcct-shard-1-kneighbors" in str(k)
                  for k in client.processing(workers=[victim]).get(victim, ())):
        assert time.monotonic() < deadline and thread.is_alive(), "the shard's query never started"
        time.sleep(0.005)
    os.kill(pid, signal.SIGKILL)
    thread.join(60)
    assert not thread.is_alive(), "the query hung after its worker died"
    assert "answer" not in out, "a query returned although a shard's worker died during it"
    err = out["error"]
    assert isinstance(err, pcct.dask.ShardLostError)
    assert err.shard == 1 and err.worker == victim
    assert f"shard 1 of 2 (on worker {victim})" in str(err) and "kneighbors" in str(err)
    # Every later call fails the same way, at once; a refit works again.
    t0 = time.monotonic()
    with pytest.raises(pcct.dask.ShardLostError, match="shard 1 of 2"):
        nn.kneighbors(Q[:5])
    with pytest.raises(pcct.dask.ShardLostError):
        nn.insert(Q[:5])
    assert time.monotonic() - t0 < 10
    nn.fit(X[:500])
    assert_same(nn.kneighbors(Q[:50]), pcct.NearestNeighbors(n_neighbors=20).fit(X[:500]).kneighbors(Q[:50]))


def test_shutdown(cluster):
    cluster_, client = cluster
    X = grid(500, 3, 22)
    # A second client: closing it releases the shards it made on the workers.
    other = distributed.Client(cluster_.scheduler_address, set_as_default=False)
    with other.as_current():
        nn = pcct.dask.NearestNeighbors().fit(X)
    keys = {f.key for f in nn._state.shards}
    held = lambda: keys & {k for ks in client.has_what().values() for k in ks}  # noqa: E731
    assert held() == keys
    other.close()
    with pytest.raises(RuntimeError, match="client .* is closed"):
        nn.kneighbors(X[:3])
    deadline = time.monotonic() + 20
    while held():
        assert time.monotonic() < deadline, "the shards outlived their client"
        time.sleep(0.05)
    # Closing the cluster ends the worker processes (Go runtime and all),
    # though an estimator still holds shards there.
    nn = pcct.dask.NearestNeighbors().fit(X)
    import psutil

    procs = [psutil.Process(pid) for pid in client.run(os.getpid).values()]
    client.close()
    cluster_.close()
    gone, alive = psutil.wait_procs(procs, timeout=30)
    assert not alive, "worker processes outlived the cluster"
    with pytest.raises(RuntimeError, match="closed"):
        nn.kneighbors(X[:3])
