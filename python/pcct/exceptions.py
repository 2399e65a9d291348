"""The exceptions pcct raises beyond Python's own.

Like :mod:`sklearn.exceptions`, a module of its own, so that every other
module can import it without importing each other.
"""

__all__ = ["InvalidParameterError", "ReadOnlyError"]


class InvalidParameterError(ValueError, TypeError):
    """A constructor parameter has a wrong type or value.

    Like scikit-learn's InvalidParameterError, it is both a ValueError and
    a TypeError.
    """


class ReadOnlyError(TypeError):
    """An update (insert, delete, fit) was attempted on a read-only snapshot.

    Snapshots (:meth:`CoverTree.snapshot`, :meth:`NearestNeighbors.snapshot`)
    answer queries as of the moment they were taken and never change. Like
    the ``TypeError`` Python raises for item assignment to a tuple, this
    says that the object does not support the operation at all; update the
    live tree or estimator instead.
    """
