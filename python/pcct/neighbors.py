"""NearestNeighbors: scikit-learn's unsupervised neighbours estimator on a
compressed cover tree."""

from __future__ import annotations

from ._base import KNeighborsMixin, NeighborsBase, RadiusNeighborsMixin, UpdatesMixin
from .exceptions import InvalidParameterError

__all__ = ["NearestNeighbors", "InvalidParameterError"]


class NearestNeighbors(KNeighborsMixin, RadiusNeighborsMixin, UpdatesMixin, NeighborsBase):
    """Unsupervised learner for exact nearest-neighbour searches, backed by a
    parallel compressed cover tree.

    A drop-in for :class:`sklearn.neighbors.NearestNeighbors` with the same
    methods and results (up to the order of tied neighbours, which pcct
    breaks by index), except that the default metric is "euclidean" (see
    ``p``). The tree is built, updated and searched in Go, with ``n_jobs``
    goroutines.

    Unlike scikit-learn's, the fitted estimator can be updated: :meth:`insert`
    adds points and :meth:`delete` removes them, without a refit, and
    :meth:`snapshot` returns a read-only estimator that keeps answering as
    of the moment it was taken.

    **Ids.** Every fitted point has an id: :meth:`fit` assigns 0..n-1,
    :meth:`insert` assigns the next unused ids, and deleted ids are never
    reused. Every index returned by :meth:`kneighbors`,
    :meth:`radius_neighbors` and the graphs is an id. Until the first
    deletion the ids are simply the row numbers of the fitted data, as in
    scikit-learn.

    Parameters
    ----------
    n_neighbors : int, default=5
        Number of neighbours to use by default for :meth:`kneighbors`.
    radius : float, default=1.0
        Range of parameter space to use by default for
        :meth:`radius_neighbors`.
    metric : str, default="euclidean"
        The distance: "euclidean" ("l2"), "manhattan" ("cityblock", "l1"),
        "chebyshev" ("infinity"), "minkowski" (with power ``p``), "cosine"
        or "haversine". Only true metrics are supported (a cover tree
        relies on the triangle inequality), and cosine, which is served
        exactly: the points are normalised, searched with the Euclidean
        distance, and ``1 - cos`` is returned. Zero vectors have no cosine
        distance and are refused (scikit-learn puts them at distance 1 from
        everything). "haversine" is the great-circle distance on the unit
        sphere between (latitude, longitude) pairs in radians: 2 features,
        latitudes in [-pi/2, pi/2]; multiply by the Earth's radius (about
        6371 km) for distances on Earth. Also scikit-learn's other
        BallTree metrics that are true metrics, computed as its
        DistanceMetric computes them: "seuclidean" (variances ``V`` in
        ``metric_params``), "mahalanobis" (``V`` or ``VI``), "minkowski"
        with weights ``w``, "canberra", "hamming", and on boolean data (a
        coordinate is true where it is not 0) "jaccard", "rogerstanimoto",
        "sokalmichener" and "sokalsneath"; or a scikit-learn DistanceMetric
        object; or a Python function ``f(a, b, **metric_params) -> float``
        (slow: Go calls it for every distance); or "precomputed": X is a
        square distance matrix (dense, or a sparse graph whose missing
        entries are not neighbours) and queries are rows of distances to
        the fitted points, answered by brute force as in scikit-learn
        (see the README's Metrics section). Names that are not metrics
        ("braycurtis", "dice", "russellrao", "sqeuclidean", ...) raise
        ValueError at :meth:`fit`, saying why and what to use instead.
    p : float, default=2
        Power of the Minkowski metric, p >= 1 (``np.inf`` allowed), used only
        with ``metric="minkowski"``; p=1, 2 and inf give manhattan,
        euclidean and chebyshev. scikit-learn's default metric is
        "minkowski", so there ``NearestNeighbors(p=1)`` means the Manhattan
        distance; here the default metric is "euclidean", and :meth:`fit`
        raises ValueError if p (or ``metric_params["p"]``) is set with a
        metric it does not apply to, instead of silently ignoring it. (p=2,
        None, or the metric's own power, 1 for manhattan and inf for
        chebyshev, are accepted with any metric.)
    metric_params : dict, default=None
        Additional keyword arguments for the metric: ``"p"`` (overrides
        ``p``), ``"w"`` (Minkowski weights, one per feature, > 0),
        ``"V"`` (seuclidean: the variances, one per feature, > 0;
        mahalanobis: the covariance matrix) or ``"VI"`` (mahalanobis: the
        inverse covariance matrix, symmetric positive definite); for a
        Python function, its keyword arguments.
    n_jobs : int, default=None
        Number of parallel goroutines for building and updating the tree
        and for the neighbour searches. None means 1, -1 means all CPUs, -k
        means all CPUs but k - 1.
    algorithm : {"auto", "cover_tree", "brute"}, default="auto"
        The index that answers the queries (scikit-learn's parameter; its
        "kd_tree" and "ball_tree" are not offered: pcct's tree is a cover
        tree). All answer exactly and alike, bit for bit. "cover_tree"
        builds a compressed cover tree, which prunes well in low
        dimensions and on data near a low-dimensional manifold. "brute"
        keeps the points and measures all of them per query, screened by a
        vector kernel: faster where a tree cannot prune (high dimension,
        no low-dimensional structure), and with no build. "auto" builds
        small cover trees on samples of the data, measures how many points
        they examine per query, and chooses the index estimated to answer
        faster (``effective_algorithm_`` says which; ``algorithm_choice_``
        holds the evidence); in one to three dimensions under "euclidean",
        "manhattan", "chebyshev" or "minkowski" (p >= 1), where a tree
        always prunes, it takes a tree without samples (its queries are
        the cheaper from a few hundred points up, and the model counts
        four queries a point). Insertions, deletions,
        snapshots, pickling and saving work with either, and so does every metric but a Python
        function, which only a cover tree calls back: "brute" refuses one
        (ValueError) and "auto" builds a cover tree for it.
    search : {"depth_first", "corrected"}, default="depth_first"
        The k-nearest-neighbour algorithm of a cover tree; both are exact
        and return the same answers. "depth_first" is branch and bound: from the root, the
        children of a node are measured together and opened nearest first,
        and a subtree is skipped when its radius puts it beyond the k-th
        distance found so far. It is the default because it measures 1.4 to
        2.3 times fewer distances on the benchmark data. "corrected" is the
        corrected algorithm of Elkin and Kurlin: level by level, with the
        lambda-point bound and the break condition, and a proven bound on
        its number of iterations. Radius searches are not affected.
    verbose : bool, default=False
        Show a progress bar while the tree is built or updated and while a
        batch of queries runs: tqdm's (a widget in Jupyter when ipywidgets
        is installed) or, without tqdm, a line on stderr. The bar follows
        the count of points inserted or queries answered that the Go
        library updates as it works.
    device : {"auto", "cpu", "cuda"}, default="auto"
        Where :meth:`kneighbors`, :meth:`radius_neighbors` and the graphs
        run. "cpu": the cover tree's search. "cuda": an exact brute force
        on the GPU, which returns the same indices and distances as the CPU
        (ties by id); it needs pcct's CUDA build and a usable NVIDIA GPU,
        and :meth:`fit` raises ValueError, saying why, without one. "auto":
        the GPU when one is usable and the batch is large enough to pay
        (about 2^31 coordinate comparisons: queries x points x features),
        else the CPU. The GPU computes euclidean, cosine, manhattan and
        chebyshev; other metrics run on the CPU under "auto" and raise
        ValueError under "cuda". The tree is built and updated on the CPU
        whatever the device. See :func:`pcct.gpu_available`.

    Attributes
    ----------
    effective_metric_ : str
        The distance used: ``metric``, except that "minkowski" with p = 1, 2
        or inf becomes "manhattan", "euclidean" or "chebyshev".
    effective_metric_params_ : dict
        Metric parameters used: ``{"p": p, "w": None}`` for a Minkowski
        metric with another p, else ``metric_params`` without "p".
    n_features_in_ : int
        Number of features seen during :term:`fit`.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during :term:`fit`. Defined only when `X`
        has feature names that are all strings.
    n_samples_fit_ : int
        Number of points held: those fitted and inserted, less those
        deleted.
    n_ids_ : int
        Number of ids issued (by :meth:`fit` and :meth:`insert`); every id
        is below it. The graphs have ``n_ids_`` columns. Equal to
        ``n_samples_fit_`` until the first deletion.
    ids_ : ndarray of shape (n_samples_fit_,), int64
        The live ids, ascending (read-only). Row i of ``kneighbors()`` (X=None)
        and of the graphs with X=None belongs to the point with id
        ``ids_[i]``.
    effective_algorithm_ : str
        The index built: "cover_tree" or "brute" (``algorithm``, or what
        "auto" chose).
    algorithm_choice_ : dict or None
        With ``algorithm="auto"``, the evidence it chose from: the sample
        size, the distance evaluations per query measured on the sample
        tree, their growth exponent with the sample size, the estimated
        evaluations per query and per point built on the whole data, the
        estimated seconds of each index (a build, then four queries per
        point), the build budget past which a tree costs more than brute
        force, and ``gave_up``: True when the tree chosen exceeded that
        budget while it was built (the samples misjudged the data) and a
        brute-force index took over. When the samples left the choice
        close, the tree of all the points was built and the figures are
        its own (the sample size is then the number of points). In one to
        three dimensions under the coordinate metrics the sample size is 0:
        the estimates are the cost model's own for such trees. None
        otherwise (and for a Python function as the metric, which "auto"
        serves with a cover tree without sampling).
    tree_ : CoverTree or BruteForceIndex
        The index over the fitted data (a :class:`BruteForceIndex` has the
        same interface but no tree structure).

    See Also
    --------
    sklearn.neighbors.NearestNeighbors : The scikit-learn estimator this
        one mirrors.
    pcct.CoverTree : The tree itself, with a KDTree-like interface.
    pcct.BruteForceIndex : The brute-force index, with the same interface.

    Notes
    -----
    float32 and float64 data are kept in their precision; other numeric
    data is converted to float64. Queries are converted to the fitted
    dtype, and distances are returned in it.

    Python keeps no copy of the fitted data: the points live in the Go
    tree. Pickling stores the tree's binary encoding; :meth:`save` and
    :func:`pcct.load` do the same with a file.

    An update makes a new version of the tree and never disturbs queries
    running on the old one; concurrent updates of one estimator are
    serialized.

    Ctrl-C stops :meth:`fit`, :meth:`insert`, :meth:`delete` and long
    batches of queries within a fraction of a second and raises
    ``KeyboardInterrupt``; the estimator is then as it was before the call
    (a stopped update makes no new version). The call runs in a worker
    thread while the calling thread waits; small calls, and calls from
    threads other than the main one, go to Go directly.

    Queries release the GIL: several Python threads may query one fitted
    estimator at once.

    The Go runtime inside pcct does not survive ``fork()``: in a process
    forked after pcct was used, every call raises RuntimeError. Use the
    'spawn' or 'forkserver' start method of :mod:`multiprocessing`, or
    joblib's default 'loky' backend.

    Examples
    --------
    >>> import numpy as np
    >>> from pcct import NearestNeighbors
    >>> samples = [[0, 0, 2], [1, 0, 0], [0, 0, 1]]
    >>> neigh = NearestNeighbors(n_neighbors=2, radius=0.4)
    >>> neigh.fit(samples)
    NearestNeighbors(n_neighbors=2, radius=0.4)
    >>> neigh.kneighbors([[0, 0, 1.3]], 2, return_distance=False)
    array([[2, 0]])
    >>> nbrs = neigh.radius_neighbors([[0, 0, 1.3]], 0.4, return_distance=False)
    >>> np.asarray(nbrs[0][0])
    array(2)

    Updates, without a refit (indices are ids; deleted ids are not reused):

    >>> neigh.insert([[0, 0, 1.25]])
    array([3])
    >>> neigh.delete([2]).kneighbors([[0, 0, 1.3]], 2, return_distance=False)
    array([[3, 0]])
    >>> neigh.ids_
    array([0, 1, 3])
    """

    def __init__(
        self,
        *,
        n_neighbors=5,
        radius=1.0,
        metric="euclidean",
        p=2,
        metric_params=None,
        n_jobs=None,
        algorithm="auto",
        search="depth_first",
        verbose=False,
        device="auto",
    ):
        self.n_neighbors = n_neighbors
        self.radius = radius
        self.metric = metric
        self.p = p
        self.metric_params = metric_params
        self.n_jobs = n_jobs
        self.algorithm = algorithm
        self.search = search
        self.verbose = verbose
        self.device = device

    # -- fit ---------------------------------------------------------------

    def fit(self, X, y=None):
        """Fit the nearest neighbours estimator from the training dataset.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features), or (n_samples, n_samples) if metric="precomputed"
            Training data. float32 and float64 are kept; other numeric types
            are converted to float64. A scipy.sparse matrix (any format,
            taken as CSR) is searched without densifying it, under the
            euclidean, manhattan and cosine metrics (README "Sparse
            input"). With metric="precomputed": the distances between the
            samples, dense or sparse (CSR, CSC, COO, LIL).
        y : Ignored
            Not used, present for API consistency by convention.

        Returns
        -------
        self : NearestNeighbors
            The fitted nearest neighbours estimator. The points get the ids
            0..n_samples-1 (their row numbers).

        Raises
        ------
        ReadOnlyError
            If the estimator is a snapshot.
        """
        return self._fit(X)
