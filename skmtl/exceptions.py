"""Warnings that skmtl's estimators give."""

from __future__ import annotations

from sklearn.exceptions import InconsistentVersionWarning as _SklearnVersionWarning


class DivergenceWarning(UserWarning):
    """Training stopped because a loss went non-finite (NaN or infinity).

    The estimator keeps the weights of the last epoch whose losses were all
    finite and records what happened in ``stopped_reason_``.

    Examples
    --------
    A learning rate far too large makes the loss overflow:

    >>> import warnings
    >>> import numpy as np
    >>> from skmtl import MultiTaskClassifier
    >>> from skmtl.exceptions import DivergenceWarning
    >>> X = np.random.default_rng(0).normal(size=(100, 3))
    >>> Y = {"a": X[:, 0] > 0, "b": X[:, 1] > 0}
    >>> clf = MultiTaskClassifier(
    ...     lr=1e6, max_epochs=20, feature_scaling=None, numeric_embedding=None, random_state=0
    ... )
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always", DivergenceWarning)
    ...     _ = clf.fit(X, Y)
    >>> any(issubclass(w.category, DivergenceWarning) for w in caught)
    True
    >>> clf.stopped_reason_.startswith("Training diverged in epoch")
    True
    """


class InconsistentVersionWarning(_SklearnVersionWarning):
    """An estimator was unpickled under another skmtl version than it was saved with.

    A subclass of scikit-learn's warning of the same name, so that a filter
    for scikit-learn's warning covers skmtl's too.

    Parameters
    ----------
    estimator_name : str
        The class of the unpickled estimator.
    current_sklearn_version : str
        The skmtl version that loads it (named as in scikit-learn's warning).
    original_sklearn_version : str
        The skmtl version that pickled it.

    Examples
    --------
    >>> import warnings
    >>> from skmtl.exceptions import InconsistentVersionWarning
    >>> warning = InconsistentVersionWarning(
    ...     estimator_name="MultiTaskClassifier",
    ...     current_sklearn_version="0.2.0",
    ...     original_sklearn_version="0.1.0",
    ... )
    >>> print(warning)  # doctest: +NORMALIZE_WHITESPACE
    Trying to unpickle MultiTaskClassifier from skmtl 0.1.0 when using skmtl 0.2.0.
    The network and its preprocessing may behave differently; refit it, or load it
    with the version that saved it.

    It is scikit-learn's warning too, so that one filter covers both:

    >>> from sklearn.exceptions import InconsistentVersionWarning as SklearnWarning
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("ignore", SklearnWarning)
    ...     warnings.warn(warning)
    >>> caught
    []
    """

    def __str__(self) -> str:
        return (
            f"Trying to unpickle {self.estimator_name} from skmtl "
            f"{self.original_sklearn_version} when using skmtl "
            f"{self.current_sklearn_version}. The network and its preprocessing may "
            "behave differently; refit it, or load it with the version that saved it."
        )
