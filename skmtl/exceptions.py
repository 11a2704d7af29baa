"""Warnings that skmtl's estimators give."""

from __future__ import annotations

from sklearn.exceptions import InconsistentVersionWarning as _SklearnVersionWarning


class DivergenceWarning(UserWarning):
    """Training stopped because a loss went non-finite (NaN or infinity).

    The estimator keeps the weights of the last epoch whose losses were all
    finite and records what happened in ``stopped_reason_``.
    """


class InconsistentVersionWarning(_SklearnVersionWarning):
    """An estimator was unpickled under another skmtl version than it was saved with.

    A subclass of scikit-learn's warning of the same name, so that a filter
    for scikit-learn's warning covers skmtl's too.
    """

    def __str__(self) -> str:
        return (
            f"Trying to unpickle {self.estimator_name} from skmtl "
            f"{self.original_sklearn_version} when using skmtl "
            f"{self.current_sklearn_version}. The network and its preprocessing may "
            "behave differently; refit it, or load it with the version that saved it."
        )
