"""Single-task views of a fitted multi-task model.

``clf.task("sex")`` (or :func:`task_view` for a Pipeline ending in a skmtl
model) returns one task of a fitted :class:`~skmtl.MultiTaskClassifier` or
:class:`~skmtl.MultiTaskRegressor` as an ordinary, fitted, single-task
scikit-learn classifier (or regressor, for a regression task). The view
predicts with the whole parent (the whole pipeline, for a Pipeline) and
keeps that task's column, so scikit-learn's tools for one classifier take
it: ``RocCurveDisplay``, ``ConfusionMatrixDisplay``,
``CalibratedClassifierCV(FrozenEstimator(view))``, ``permutation_importance``
and its scorers.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from copy import deepcopy
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.exceptions import NotFittedError
from sklearn.metrics import accuracy_score, r2_score
from sklearn.utils import _safe_indexing, get_tags
from sklearn.utils.validation import check_consistent_length, check_is_fitted

from ..targets._encoder import _observed
from ._base import final_step, multi_task_model


def _is_full_target(y: Any) -> bool:
    """Whether ``y`` is a whole multi-task ``Y`` (dict, DataFrame, 2-D) rather
    than one task's labels (1-D)."""
    if isinstance(y, (Mapping, pd.DataFrame)):
        return True
    if isinstance(y, (pd.Series, pd.api.extensions.ExtensionArray)):
        return False
    return np.ndim(y) == 2


class _TaskViewBase(BaseEstimator):
    """What the classifier and regressor views share."""

    def __init__(self, estimator: Any, task: Hashable):
        self.estimator = estimator
        self.task = task

    # ------------------------------------------------------------- the parent

    def _model(self):
        """The fitted multi-task model, checked to still hold the task."""
        model = final_step(self.estimator)
        check_is_fitted(model)
        if self.task not in model.tasks_:
            raise ValueError(
                f"This view is of task {self.task!r}, but its {type(model).__name__} was "
                f"refitted since and has the tasks {model.tasks_}; take a new view."
            )
        return model

    def __sklearn_is_fitted__(self) -> bool:
        try:
            self._model()
        except (NotFittedError, ValueError):
            return False
        return True

    def __sklearn_clone__(self):
        # A view cannot be fitted, so an unfitted copy would be of no use; as
        # scikit-learn's FrozenEstimator, clone gives the view itself.
        return self

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        parent = get_tags(self.estimator)
        tags.input_tags = deepcopy(parent.input_tags)
        tags.non_deterministic = parent.non_deterministic
        tags.target_tags.multi_output = False
        tags.target_tags.single_output = True
        tags._skip_test = True  # a view is never fitted, so the estimator checks do not apply
        return tags

    @property
    def n_features_in_(self) -> int:
        """Number of features of ``X``, as the parent's."""
        return self.estimator.n_features_in_

    @property
    def feature_names_in_(self) -> np.ndarray:
        """Column names of ``X``, as the parent's (only when it has them)."""
        return self.estimator.feature_names_in_

    def __repr__(self) -> str:
        return f"{type(self).__name__}({type(self.estimator).__name__}, task={self.task!r})"

    # ------------------------------------------------------------ read-only

    def fit(self, X, y=None, **fit_params):
        """Refused: a view is read-only. Fit the parent instead.

        Raises
        ------
        TypeError
            Always.
        """
        raise TypeError(
            f"{type(self).__name__} is a read-only view of task {self.task!r} of a fitted "
            f"multi-task model ({type(self.estimator).__name__}); it cannot be fitted. "
            "Fit the parent model on all tasks (parent.fit(X, Y)) and take its view "
            "again, or wrap the view in sklearn.frozen.FrozenEstimator for tools that "
            "call fit."
        )

    def set_params(self, **params):
        """Refused: a view is read-only; set the parent's parameters and refit it.

        Raises
        ------
        TypeError
            Always.
        """
        raise TypeError(
            f"{type(self).__name__} is a read-only view of task {self.task!r}; set the "
            "parameters of the parent multi-task model and refit it instead."
        )

    # ---------------------------------------------------------------- labels

    def labelled(self, X: Any, y: Any) -> tuple[Any, np.ndarray]:
        """The rows of ``X`` labelled for the task, and their labels.

        scikit-learn's Displays, ``CalibratedClassifierCV`` and metrics take
        labelled rows only (a NaN or None label is not a class to them):
        pass ``*view.labelled(X, Y)``.

        Parameters
        ----------
        X : array-like, sparse matrix or DataFrame of shape (n_samples, ...)
        y : array-like of shape (n_samples,), or a whole multi-task ``Y``
            The task's labels (NaN, None or pd.NA where missing), or ``Y``
            in any kind ``fit`` takes (dict, DataFrame, 2-D array), from
            which the task's column is taken.

        Returns
        -------
        X_labelled : same kind as ``X``
            The labelled rows (``X`` itself when every row is labelled).
        y_labelled : ndarray of shape (n_labelled,)
            Their labels, in the labels' own dtype (no NaN left).
        """
        mask, labels = self._labelled_rows(X, y)
        if not mask.all():
            X = _safe_indexing(X, np.flatnonzero(mask))
        return X, labels

    def _labelled_rows(self, X: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
        """The mask of the rows labelled for the task, and their labels."""
        if _is_full_target(y):
            mask, labels = self._model().target_encoder_.task_labels(y, self.task)
        else:
            values = y.reset_index(drop=True) if isinstance(y, pd.Series) else pd.Series(y)
            mask, labels = _observed(values.rename(self.task))
        check_consistent_length(X, mask)
        return mask, labels

    def _score_inputs(self, X, y, sample_weight):
        mask, labels = self._labelled_rows(X, y)
        if not mask.any():
            raise ValueError(f"y has no label for task {self.task!r}: every entry is missing.")
        if sample_weight is not None:
            sample_weight = np.asarray(sample_weight, dtype=np.float64)
            check_consistent_length(sample_weight, mask)
        if not mask.all():
            rows = np.flatnonzero(mask)
            X = _safe_indexing(X, rows)
            sample_weight = None if sample_weight is None else sample_weight[rows]
        return X, labels, sample_weight

    # --------------------------------------------------------------- predict

    def predict(self, X) -> np.ndarray:
        """Predict the task's labels with the parent (the whole pipeline).

        Parameters
        ----------
        X : array-like, sparse matrix or DataFrame of shape (n_samples, ...)
            What the parent's ``predict`` takes.

        Returns
        -------
        ndarray of shape (n_samples,)
            The task's predicted labels (numbers, for a regression task).
        """
        encoder = self._model().target_encoder_
        return encoder.task_column(self.estimator.predict(X), self.task)


class ClassifierTaskView(ClassifierMixin, _TaskViewBase):
    """One classification task of a fitted multi-task model, as a plain classifier.

    Made by :meth:`MultiTaskClassifier.task <skmtl.MultiTaskClassifier.task>`
    or :func:`task_view`; not meant to be built directly. A *view*: it holds
    the parent (a skmtl model or a Pipeline ending in one), predicts with
    it, and keeps the task's column. It is fitted when the parent is, follows
    the parent if that is refitted, and is read-only: ``fit`` and
    ``set_params`` raise, and ``clone`` returns the view itself (as for
    :class:`sklearn.frozen.FrozenEstimator`). It pickles with its parent.

    Parameters
    ----------
    estimator : MultiTaskClassifier, MultiTaskRegressor or Pipeline
        The fitted parent.
    task : hashable
        A classification task of the parent.

    Attributes
    ----------
    classes_ : ndarray
        The task's classes; ``predict_proba`` columns follow them.
    n_features_in_, feature_names_in_
        The parent's.

    See Also
    --------
    task_view : The view of a task of a model or of a Pipeline ending in one.

    Notes
    -----
    scikit-learn's Displays (``RocCurveDisplay``, ``PrecisionRecallDisplay``,
    ``ConfusionMatrixDisplay``, ...) and ``CalibratedClassifierCV`` need
    rows labelled for the task: a missing label (NaN, None) is no class to
    them. :meth:`labelled` selects those rows: ``RocCurveDisplay.from_estimator
    (view, *view.labelled(X, Y))``, where ``Y`` is the task's labels or the
    whole multi-task ``Y``. :meth:`score` leaves unlabelled rows out itself,
    so ``permutation_importance(view, X, Y[task])`` takes them as they are.

    Examples
    --------
    >>> from sklearn.metrics import confusion_matrix
    >>> from skmtl import MultiTaskClassifier
    >>> from skmtl.datasets import load_penguins
    >>> X, Y = load_penguins(return_X_y=True)
    >>> X = X.fillna(X.mean())
    >>> clf = MultiTaskClassifier(max_epochs=5, random_state=0).fit(X, Y)
    >>> sex = clf.task("sex")
    >>> sex
    ClassifierTaskView(MultiTaskClassifier, task='sex')
    >>> sex.classes_.tolist()
    ['female', 'male']
    >>> sex.predict_proba(X).shape
    (344, 2)
    >>> X_sex, y_sex = sex.labelled(X, Y)  # the 333 penguins of known sex
    >>> int(confusion_matrix(y_sex, sex.predict(X_sex)).sum())
    333

    With matplotlib, ``RocCurveDisplay.from_estimator(sex, X_sex, y_sex)``
    draws the task's ROC curve.
    """

    @property
    def classes_(self) -> np.ndarray:
        """The task's classes, in the order of ``predict_proba``'s columns."""
        classes = self._model().classes_
        return classes[self.task] if isinstance(classes, dict) else classes

    def predict_proba(self, X) -> np.ndarray:
        """Probabilities of the task's classes, from the parent (the whole pipeline).

        Parameters
        ----------
        X : array-like, sparse matrix or DataFrame of shape (n_samples, ...)

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            Columns in the order of ``classes_``.
        """
        self._model()
        proba = self.estimator.predict_proba(X)
        return proba[self.task] if isinstance(proba, dict) else proba

    def score(self, X, y, sample_weight=None) -> float:
        """Accuracy on the rows labelled for the task.

        Parameters
        ----------
        X : array-like, sparse matrix or DataFrame of shape (n_samples, ...)
        y : array-like of shape (n_samples,), or a whole multi-task ``Y``
            The task's labels, NaN or None where missing (those rows are
            left out), or ``Y`` in any kind ``fit`` takes.
        sample_weight : array-like of shape (n_samples,), optional

        Returns
        -------
        float
            A label the model never saw counts as wrong.

        Raises
        ------
        ValueError
            If ``y`` has no label for the task.
        """
        X, labels, sample_weight = self._score_inputs(X, y, sample_weight)
        return float(accuracy_score(labels, self.predict(X), sample_weight=sample_weight))


class RegressorTaskView(RegressorMixin, _TaskViewBase):
    """One regression task of a fitted multi-task model, as a plain regressor.

    The regression twin of :class:`ClassifierTaskView` (read-only, fitted,
    picklable, :meth:`labelled`), for a task that ``task_types`` makes
    numeric; it has no ``predict_proba`` or ``classes_``.

    Parameters
    ----------
    estimator : MultiTaskRegressor, MultiTaskClassifier or Pipeline
        The fitted parent.
    task : hashable
        A regression task of the parent.

    Examples
    --------
    >>> import numpy as np
    >>> from skmtl import MultiTaskRegressor
    >>> X = np.random.default_rng(0).normal(size=(200, 3))
    >>> Y = {"a": X[:, 0] * 2.0, "b": X[:, 1] - X[:, 2]}
    >>> reg = MultiTaskRegressor(hidden_units=(32,), max_epochs=5, random_state=0).fit(X, Y)
    >>> reg.task("a")
    RegressorTaskView(MultiTaskRegressor, task='a')
    >>> reg.task("a").predict(X[:4]).shape
    (4,)
    """

    def score(self, X, y, sample_weight=None) -> float:
        """R^2 on the rows labelled for the task.

        Parameters
        ----------
        X : array-like, sparse matrix or DataFrame of shape (n_samples, ...)
        y : array-like of shape (n_samples,), or a whole multi-task ``Y``
            The task's targets, NaN where missing (those rows are left
            out), or ``Y`` in any kind ``fit`` takes.
        sample_weight : array-like of shape (n_samples,), optional

        Returns
        -------
        float

        Raises
        ------
        ValueError
            If ``y`` has no target for the task.
        """
        X, labels, sample_weight = self._score_inputs(X, y, sample_weight)
        return float(r2_score(labels, self.predict(X), sample_weight=sample_weight))


def task_view(estimator: Any, task: Hashable) -> ClassifierTaskView | RegressorTaskView:
    """The view of one task of a fitted multi-task model, or of a Pipeline ending in one.

    Parameters
    ----------
    estimator : MultiTaskClassifier, MultiTaskRegressor or Pipeline
        Fitted; a Pipeline must end in a skmtl model. The view predicts with
        all of it (a Pipeline's transformers, then the model).
    task : hashable
        One of the model's ``tasks_``.

    Returns
    -------
    ClassifierTaskView or RegressorTaskView
        A :class:`ClassifierTaskView` for a classification task, a
        :class:`RegressorTaskView` for a regression task.

    Raises
    ------
    TypeError
        If ``estimator`` is not a skmtl model or a Pipeline ending in one.
    NotFittedError
        If it is not fitted.
    ValueError
        If ``task`` is not one of its tasks.

    See Also
    --------
    skmtl.MultiTaskClassifier.task : The same, called on the model.

    Examples
    --------
    >>> from sklearn.impute import SimpleImputer
    >>> from sklearn.pipeline import make_pipeline
    >>> from skmtl import MultiTaskClassifier
    >>> from skmtl.datasets import load_penguins
    >>> from skmtl.views import task_view
    >>> X, Y = load_penguins(return_X_y=True)
    >>> model = make_pipeline(SimpleImputer(), MultiTaskClassifier(max_epochs=5, random_state=0))
    >>> species = task_view(model.fit(X, Y), "species")
    >>> species
    ClassifierTaskView(Pipeline, task='species')
    >>> species.predict_proba(X).shape  # the imputer runs first: X has NaN
    (344, 3)
    """
    model = multi_task_model(estimator, "task_view")
    if task not in model.tasks_:
        raise ValueError(f"{task!r} is not a task of the model; its tasks are {model.tasks_}.")
    regression = model.target_encoder_.types_[task] == "regression"
    return (RegressorTaskView if regression else ClassifierTaskView)(estimator, task)


class TaskViews:
    """The ``task`` method of skmtl's estimators (a mixin)."""

    def task(self, name) -> ClassifierTaskView | RegressorTaskView:
        """One task of the fitted model, as a fitted single-task estimator.

        The view predicts with this model and keeps the task's column, so
        scikit-learn's tools for one classifier take it (``RocCurveDisplay``,
        ``ConfusionMatrixDisplay``, ``CalibratedClassifierCV(FrozenEstimator(
        view))``, ``permutation_importance``). It is read-only and follows
        this model. For a Pipeline ending in the model, use
        :func:`skmtl.task_view`.

        Parameters
        ----------
        name : hashable
            One of ``tasks_``.

        Returns
        -------
        ClassifierTaskView or RegressorTaskView
            A :class:`~skmtl.views.ClassifierTaskView` (``predict``,
            ``predict_proba``, ``classes_``, ``score``: the accuracy on the
            rows labelled for the task); a
            :class:`~skmtl.views.RegressorTaskView` for a regression task.

        Examples
        --------
        >>> import numpy as np
        >>> from skmtl import MultiTaskClassifier
        >>> rng = np.random.default_rng(0)
        >>> X = rng.normal(size=(100, 3))
        >>> Y = {"sign": X[:, 0] > 0, "band": np.digitize(X[:, 1], [-1, 1])}
        >>> clf = MultiTaskClassifier(hidden_units=(16,), max_epochs=5, random_state=0)
        >>> view = clf.fit(X, Y).task("band")
        >>> view.classes_.tolist(), view.predict_proba(X).shape
        ([0, 1, 2], (100, 3))
        """
        return task_view(self, name)
