"""Neighbour graphs as pipeline steps: :class:`KNeighborsTransformer` and
:class:`RadiusNeighborsTransformer`, with the semantics of scikit-learn's
transformers of the same names, on pcct's exact cover tree.

They turn points into a sparse graph of neighbour distances, which
estimators with ``metric="precomputed"`` take in place of the points:
:class:`sklearn.manifold.Isomap`, :class:`sklearn.manifold.TSNE`,
:class:`sklearn.cluster.DBSCAN`, :class:`sklearn.neighbors.KNeighborsClassifier`
and others. They share :class:`pcct.NearestNeighbors`'s query path (the
mixins of ``_base.py``).
"""

from __future__ import annotations

from sklearn.base import ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ._base import KNeighborsMixin, NeighborsBase, RadiusNeighborsMixin

__all__ = ["KNeighborsTransformer", "RadiusNeighborsTransformer"]

_COMMON_PARAMS = """metric : str, default="euclidean"
        The distance, as for :class:`pcct.NearestNeighbors`: "euclidean"
        ("l2"), "manhattan" ("cityblock", "l1"), "chebyshev"
        ("infinity"), "minkowski" (with power ``p``), "cosine" or
        "haversine" (and the others NearestNeighbors takes, "precomputed"
        among them: X is then a square distance matrix, dense or sparse,
        and transform takes rows of distances to the fitted points).
        scikit-learn's transformer defaults to "minkowski"
        with p=2, the same distance.
    p : float, default=2
        Power of the Minkowski metric, p >= 1, used only with
        ``metric="minkowski"`` (a p set with another metric raises
        ValueError at :meth:`fit`, as for :class:`pcct.NearestNeighbors`).
    metric_params : dict, default=None
        Only ``"p"`` (which overrides ``p``) is supported.
    n_jobs : int, default=None
        Number of goroutines building the tree and answering the queries:
        None means 1, -1 all CPUs.
    algorithm : {"auto", "cover_tree", "brute"}, default="auto"
        The index that answers (see :class:`pcct.NearestNeighbors`): a
        cover tree, brute force, or ("auto") the one estimated faster (from
        sample trees; in one to three dimensions a tree); all give the same
        graph.
    search : {"depth_first", "corrected"}, default="depth_first"
        The k-nearest-neighbour algorithm of a cover tree (see
        :class:`pcct.NearestNeighbors`); both are exact and give the same
        graph.
    verbose : bool, default=False
        Show a progress bar while the tree is built and queried."""

_COMMON_ATTRIBUTES = """effective_metric_ : str
        The distance used ("minkowski" with p = 1, 2 or inf becomes
        "manhattan", "euclidean" or "chebyshev").
    effective_metric_params_ : dict
        Metric parameters used.
    n_features_in_ : int
        Number of features seen during :term:`fit`.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during :term:`fit`, when they are all strings.
    n_samples_fit_ : int
        Number of points fitted: the number of columns of the graphs.
    effective_algorithm_ : str
        The index built: "cover_tree" or "brute".
    algorithm_choice_ : dict or None
        The evidence of ``algorithm="auto"`` (see
        :class:`pcct.NearestNeighbors`), else None.
    tree_ : CoverTree or BruteForceIndex
        The index over the fitted points."""


class _GraphTransformer(ClassNamePrefixFeaturesOutMixin, TransformerMixin, NeighborsBase):
    """What both transformers share: fit, fit_transform, the output's
    feature names."""

    def fit(self, X, y=None):
        """Fit the transformer on the points X.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The points; float32 and float64 are kept, other numeric types are
            converted to float64.
        y : Ignored
            Not used, present for API consistency by convention.

        Returns
        -------
        self : object
            The fitted transformer.
        """
        self._fit(X)
        self._n_features_out = self.n_samples_fit_
        return self

    def fit_transform(self, X, y=None):
        """Fit on X, then transform X: its graph over itself, in which every
        point is its own neighbour at distance 0 (as in scikit-learn).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The points.
        y : Ignored
            Not used, present for API consistency by convention.

        Returns
        -------
        Xt : sparse matrix of shape (n_samples, n_samples)
            The graph; see :meth:`transform`.
        """
        return self.fit(X).transform(X)

    @classmethod
    def _from_saved(cls, info, tree):
        est = super()._from_saved(info, tree)
        est._n_features_out = est.n_samples_fit_
        return est

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = []  # a sparse graph of float64 or the fitted dtype
        return tags


class KNeighborsTransformer(KNeighborsMixin, _GraphTransformer):
    """Transform points into a sparse graph of their k nearest neighbours,
    on an exact compressed cover tree.

    A drop-in for :class:`sklearn.neighbors.KNeighborsTransformer`: the same
    graph (up to the order of tied neighbours, which pcct breaks by index),
    for pipelines whose next step takes ``metric="precomputed"``::

        make_pipeline(pcct.KNeighborsTransformer(n_neighbors=10),
                      Isomap(n_neighbors=10, metric="precomputed"))

    As in scikit-learn, each query point is its own first neighbour when it
    was fitted (``fit_transform``), so with ``mode="distance"`` each row
    holds ``n_neighbors + 1`` entries: the point itself, at distance 0
    (which a sparse matrix may not store explicitly), and its
    ``n_neighbors`` nearest others. The next step needs at least as many
    neighbours as it uses.

    Parameters
    ----------
    mode : {"distance", "connectivity"}, default="distance"
        "distance" gives the distances (and one extra neighbour, as above);
        "connectivity" gives ones, for ``n_neighbors`` neighbours.
    n_neighbors : int, default=5
        Number of neighbours of each point. With ``mode="distance"`` one
        more is stored, as scikit-learn does.
    %s

    Attributes
    ----------
    %s

    See Also
    --------
    sklearn.neighbors.KNeighborsTransformer : The scikit-learn transformer
        this one mirrors.
    RadiusNeighborsTransformer : The graph of the neighbours within a radius.
    pcct.NearestNeighbors : The estimator with the same query path.

    Examples
    --------
    >>> import numpy as np
    >>> from pcct import KNeighborsTransformer
    >>> X = np.array([[0.0], [1.0], [3.0], [6.0]])
    >>> G = KNeighborsTransformer(n_neighbors=1).fit_transform(X)
    >>> G.shape
    (4, 4)
    >>> G.toarray()
    array([[0., 1., 0., 0.],
           [1., 0., 0., 0.],
           [0., 2., 0., 0.],
           [0., 0., 3., 0.]])
    """

    def __init__(
        self,
        *,
        mode="distance",
        n_neighbors=5,
        metric="euclidean",
        p=2,
        metric_params=None,
        n_jobs=None,
        algorithm="auto",
        search="depth_first",
        verbose=False,
    ):
        self.mode = mode
        self.n_neighbors = n_neighbors
        self.metric = metric
        self.p = p
        self.metric_params = metric_params
        self.n_jobs = n_jobs
        self.algorithm = algorithm
        self.search = search
        self.verbose = verbose

    def transform(self, X):
        """The graph of the k nearest fitted points of each row of X.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_queries, n_features)
            The query points.

        Returns
        -------
        Xt : sparse matrix of shape (n_queries, n_samples_fit_)
            CSR matrix; ``Xt[i, j]`` is the distance (or 1) from query i to
            fitted point j, for the ``n_neighbors`` (``n_neighbors + 1``
            with ``mode="distance"``) nearest.
        """
        check_is_fitted(self)
        add_one = self.mode == "distance"
        return self._kneighbors_graph(X, self.n_neighbors + add_one, self.mode, "ids",
                                      f"{type(self).__name__}.transform")


class RadiusNeighborsTransformer(RadiusNeighborsMixin, _GraphTransformer):
    """Transform points into a sparse graph of their neighbours within a
    radius, on an exact compressed cover tree.

    A drop-in for :class:`sklearn.neighbors.RadiusNeighborsTransformer`: the
    same graph, each row's entries sorted by distance, for pipelines whose
    next step takes ``metric="precomputed"``, e.g.
    ``make_pipeline(pcct.RadiusNeighborsTransformer(radius=eps),
    DBSCAN(eps=eps, metric="precomputed"))``.

    Parameters
    ----------
    mode : {"distance", "connectivity"}, default="distance"
        "distance" gives the distances; "connectivity" gives ones.
    radius : float, default=1.0
        Points at distance <= radius are neighbours.
    %s

    Attributes
    ----------
    %s

    See Also
    --------
    sklearn.neighbors.RadiusNeighborsTransformer : The scikit-learn
        transformer this one mirrors.
    KNeighborsTransformer : The graph of the k nearest neighbours.

    Examples
    --------
    >>> import numpy as np
    >>> from pcct import RadiusNeighborsTransformer
    >>> X = np.array([[0.0], [1.0], [3.0], [6.0]])
    >>> RadiusNeighborsTransformer(radius=2.0).fit_transform(X).toarray()
    array([[0., 1., 0., 0.],
           [1., 0., 2., 0.],
           [0., 2., 0., 0.],
           [0., 0., 0., 0.]])
    """

    def __init__(
        self,
        *,
        mode="distance",
        radius=1.0,
        metric="euclidean",
        p=2,
        metric_params=None,
        n_jobs=None,
        algorithm="auto",
        search="depth_first",
        verbose=False,
    ):
        self.mode = mode
        self.radius = radius
        self.metric = metric
        self.p = p
        self.metric_params = metric_params
        self.n_jobs = n_jobs
        self.algorithm = algorithm
        self.search = search
        self.verbose = verbose

    def transform(self, X):
        """The graph of the fitted points within ``radius`` of each row of X.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_queries, n_features)
            The query points.

        Returns
        -------
        Xt : sparse matrix of shape (n_queries, n_samples_fit_)
            CSR matrix; ``Xt[i, j]`` is the distance (or 1) from query i to
            fitted point j when it is at most ``radius``, each row's
            entries sorted by distance.
        """
        check_is_fitted(self)
        return self._radius_neighbors_graph(X, None, self.mode, True, "ids",
                                            f"{type(self).__name__}.transform")


KNeighborsTransformer.__doc__ %= (_COMMON_PARAMS, _COMMON_ATTRIBUTES)
RadiusNeighborsTransformer.__doc__ %= (_COMMON_PARAMS, _COMMON_ATTRIBUTES)
