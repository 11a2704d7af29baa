"""Packed searches: the candidates x folds of a grid trained as members of one network.

``PackedGridSearchCV`` and ``PackedRandomizedSearchCV`` are scikit-learn's
searches with one step done differently: before the search scores anything,
every (candidate, fold) that can share a network pass is trained as a
member of a pack (:func:`skmtl.training.train_packed`). scikit-learn's own
``fit`` then runs unchanged: it "fits" each candidate on each fold by
taking the member already trained for it, scores it with its scorers,
builds ``cv_results_``, chooses the best and refits it as an ordinary fit.
``BaseSearchCV.fit`` has no hook for how one candidate is fitted, so the
search hands it, for that one call, an estimator that looks the members up
(``_Replay``) and the folds already drawn.
"""

from __future__ import annotations

import copy
import math
import time
import warnings
from collections import defaultdict
from collections.abc import Mapping
from numbers import Integral

import joblib
import numpy as np
import pandas as pd
import torch
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator, clone, is_classifier
from sklearn.metrics import check_scoring
from sklearn.model_selection import (
    GridSearchCV,
    ParameterGrid,
    ParameterSampler,
    RandomizedSearchCV,
)
from sklearn.model_selection._split import check_cv
from sklearn.utils import _safe_indexing, indexable
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.metaestimators import available_if
from torch import nn

from ..data import tensor_view
from ..data._tensors import TensorData
from ..estimators._base import final_step, is_multi_task
from ..training import EpochDecay, autocast, batch_size, selects_epochs
from ..training._packing import (
    PackMember,
    PackSettings,
    dropout_anchors,
    member_bytes,
    train_packed,
)
from ..utils import fit_threads, seeded_torch, torch_seed, torch_threads

#: The parameters that members of one pack may differ in; any other
#: parameter's values split the grid into groups packed one after another.
PACKED_PARAMS = frozenset(
    {
        "lr",
        "weight_decay",
        "dropout",
        "task_weights",
        "task_weighting",
        "random_state",
        "patience",
        "max_epochs",
        "lr_schedule",
        "verbose",
    }
)

#: ``memory_budget="auto"`` on the CPU, in bytes.
CPU_BUDGET = 2 * 2**30

#: ``max_members="auto"`` on the CPU. A packed step there is bound by memory
#: traffic (Adam's moments): its cost per member levels off at about 32
#: members (penguins' network: 0.20 ms a member-step at 32, 0.19 at 64,
#: 1.3 ms for one), and a larger pack only runs a longer tail of its
#: slowest members (docs/performance.md, the packed search).
CPU_MEMBERS = 32


# ------------------------------------------------------------- the members


def _fold_key(X, y) -> str:
    """What identifies a fold's training data when scikit-learn hands it back:
    a hash of its values (pandas hashes a frame's rows in one pass, where
    pickling it for the hash costs ten times as much)."""

    def values(data):
        if isinstance(data, (pd.DataFrame, pd.Series)):
            return list(data.columns) if data.ndim == 2 else data.name, pd.util.hash_pandas_object(
                data, index=True
            ).to_numpy()
        return data

    return joblib.hash((values(X), values(y)))


def _param_key(params: dict) -> str:
    return joblib.hash(clone(params, safe=False))


def unpackable(estimator) -> str | None:
    """Why ``estimator``'s fit cannot be a member of a pack, or None."""
    if estimator.callbacks not in (None, [], ()):
        return "it has callbacks of its own"
    if estimator.lr_schedule == "plateau":
        return "lr_schedule='plateau' watches each fit's own scores"
    if estimator.optimizer not in (torch.optim.AdamW, torch.optim.Adam):
        return "its optimizer is not torch's Adam or AdamW"
    return None  # the task weighting is read once built (_member_unpackable)


def _member_unpackable(est, datasets) -> str | None:
    """What only a prepared member shows: its data path, batches, network,
    optimizer and stopping."""
    view = tensor_view(datasets[0])
    if view is None or type(view[0]) is not TensorData:
        return "its X is sparse, memory-mapped or not on the fast data path"
    valid = tensor_view(datasets[1]) if datasets[1] is not None else None
    if datasets[1] is not None and (valid is None or valid[0] is not view[0]):
        return "its validation set is one of its own (predefined_split)"
    iterator = est.get_params_for("iterator_train")
    if not iterator.get("shuffle", False) or iterator.get("drop_last", False):
        return "its training batches are not shuffled, or drop the last"
    if any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in est.module_.modules()):
        return "batch normalisation reads each batch's rows, padding included"
    groups = est.optimizer_.param_groups
    group = groups[0]
    if len(groups) != 1 or group.get("amsgrad") or group.get("maximize"):
        return "its optimizer has parameter groups, amsgrad or maximize"
    if list(est.weighting_.parameters()) or est.weighting_.per_task_gradients:
        return "its task_weighting trains parameters or combines gradients"
    recipe = est.recipe_
    if not recipe.max_epochs:
        return "it trains no epoch"
    if recipe.stops_early and recipe.monitor not in ("valid_loss", "valid_acc"):
        return f"early stopping watches {recipe.monitor!r}"
    return None


class _Prepared:
    """A member estimator begun by ``_packed_start`` and what its pack needs."""

    def __init__(self, key, estimator, fold, datasets, *, selects=False, bag=None):
        self.key = key  # (candidate, fold)
        self.estimator = estimator
        self.fold = fold
        self.selects = selects  # a chosen-epochs fit: this is its selection run
        self.bag = bag  # a bag's member: its place in the bag
        self.epochs = None  # the refit's epochs
        view = tensor_view(datasets[0])
        self.data, self.train_rows = view
        valid = tensor_view(datasets[1]) if datasets[1] is not None else None
        self.valid_rows = valid[1] if valid is not None else None
        if self.train_rows is None:
            self.train_rows = torch.arange(len(self.data), device=self.data.index_device)

    def refit(self, epochs: int) -> _Prepared:
        """The refit run of a chosen-epochs fit: a fit seeds torch alike for
        both runs and builds the network before drawing anything, so the
        refit starts from the selection's initial weights (the estimator's
        network, which the pack left untouched), on all the fold's rows."""
        run = copy.copy(self)
        run.train_rows = torch.arange(len(self.data), device=self.data.index_device)
        run.valid_rows = None
        run.epochs = int(epochs)
        # a task weighting's state (DWA's losses, FAMO's logits) starts anew, as
        # the plain refit builds it anew
        self.estimator._initialize_criterion()
        return run

    def settings(self) -> PackSettings:
        """What the pack shares, as this member would have it."""
        est = self.estimator
        group = est.optimizer_.param_groups[0]
        params = est.get_params(deep=False)
        iterator = est.get_params_for("iterator_train")
        size = int(batch_size(params, iterator, len(self.train_rows), True))
        return PackSettings(
            batch_size=size if size > 0 else len(self.train_rows),  # -1: all rows
            betas=tuple(group["betas"]),
            eps=float(group["eps"]),
            decoupled=type(est.optimizer_) is torch.optim.AdamW,
            monitor=est.recipe_.monitor,
            lower_is_better=est.recipe_.lower_is_better,
            classification=tuple(not r for r in est.target_encoder_.regression_),
            precision=lambda: autocast(est),
        )

    def signature(self) -> tuple:
        """Members with equal signatures share a pack: the same network (up to
        dropout layers, whose rates are the members' own), input and settings."""
        module = self.estimator.module_
        state = [*module.parameters(), *module.buffers()]
        settings = self.settings()
        return (
            tuple(type(m).__name__ for m in module.modules() if not isinstance(m, nn.Dropout)),
            tuple((tuple(v.shape), str(v.dtype)) for v in state),
            tuple(self.data.X.shape[1:]),
            settings,
            # members share Adam's step count: as many steps an epoch
            math.ceil(len(self.train_rows) / settings.batch_size),
            str(self.data.device),
        )

    def member(self, offset: int) -> PackMember:
        est = self.estimator
        recipe = est.recipe_
        group = est.optimizer_.param_groups[0]
        refit = self.epochs is not None
        watched = self.valid_rows is not None and recipe.stops_early and not refit
        decay = est.lr_schedule if est.lr_schedule in EpochDecay.SHAPES else None
        seed = torch_seed(est._run_state(), 1, self.fold)  # a bag member's own
        return PackMember(
            module=est.module_,
            criterion=est.criterion_,
            weighting=est.weighting_,
            train_rows=self.train_rows.to(self.data.device) + offset,
            valid_rows=self.valid_rows.to(self.data.device) + offset if watched else None,
            lr=float(group["lr"]),
            weight_decay=float(group["weight_decay"]),
            epochs=self.epochs if refit else int(recipe.max_epochs),
            patience=recipe.patience if watched else None,
            keep_best=watched and not self.selects,
            decay=decay,
            seed=int(torch.randint(2**31 - 1, ()).item()) if seed is None else seed,
        )


def _budget(memory_budget, device) -> int:
    if memory_budget != "auto":
        return int(memory_budget)
    device = torch.device(device)
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return free // 2
    return CPU_BUDGET


def _run_pack(prepared: list[_Prepared], budget: int, max_members):
    """Train ``prepared`` (one signature) in chunks that fit ``budget``;
    returns their outcomes in order."""
    first = prepared[0]
    settings = first.settings()
    sample = first.data.take(first.train_rows[:1].to(first.data.index_device))
    per_member = member_bytes(first.estimator.module_, sample, settings.batch_size)
    if per_member > budget:
        raise ValueError(
            f"One member of the packed search needs about {per_member / 2**20:.0f} MiB "
            f"for a training step, over memory_budget ({budget / 2**20:.0f} MiB). Raise "
            "memory_budget, lower batch_size, or use GridSearchCV."
        )
    size = max(1, budget // per_member)
    if max_members == "auto":
        max_members = None if first.data.device.type != "cpu" else CPU_MEMBERS
    if max_members is not None:
        size = min(size, max_members)
    n_chunks = math.ceil(len(prepared) / size)
    size = math.ceil(len(prepared) / n_chunks)  # even chunks
    outcomes = []
    for start in range(0, len(prepared), size):
        chunk = prepared[start : start + size]
        # one copy of each fold's rows as the network takes them (members of
        # one fold scale alike unless their seeds draw another scaler's sample)
        kept, offsets, parts_X, parts_Y, total = [], [], [], [], 0
        for p in chunk:
            offset = next(
                (
                    at
                    for fold, data, at in kept
                    if fold == p.fold
                    and torch.equal(data.X, p.data.X)
                    and torch.equal(data.y, p.data.y)
                ),
                None,
            )
            if offset is None:
                offset = total
                kept.append((p.fold, p.data, total))
                parts_X.append(p.data.X)
                parts_Y.append(p.data.y)
                total += len(p.data.X)
            offsets.append(offset)
        X = parts_X[0] if len(parts_X) == 1 else torch.cat(parts_X)
        Y = parts_Y[0] if len(parts_Y) == 1 else torch.cat(parts_Y)
        members = [p.member(off) for p, off in zip(chunk, offsets, strict=True)]
        threads = fit_threads(first.estimator.n_threads, first.estimator.device)
        with seeded_torch(members[0].seed), torch_threads(threads):
            outcomes.extend(train_packed(members, X, Y, settings))
    return outcomes


def _plain_fit(estimator, X, y):
    start = time.perf_counter()
    try:
        fitted = estimator.fit(X, y)
    except Exception as exc:  # scored by error_score, as GridSearchCV would
        return exc, time.perf_counter() - start
    return fitted, time.perf_counter() - start


def _final_name(base) -> str | None:
    """The name of a Pipeline's last step (the skmtl estimator), or None."""
    return base.steps[-1][0] if final_step(base) is not base else None


def packed_param(base, key: str) -> bool:
    """Whether grid parameter ``key`` is one members of a pack may differ in."""
    name = _final_name(base)
    if name is not None:
        if not key.startswith(f"{name}__"):
            return False  # a preprocessing step's: its own data path
        key = key[len(name) + 2 :]
    return key in PACKED_PARAMS


def _split_params(base, params: dict) -> tuple[dict, dict]:
    """A candidate's parameters for the preprocessing steps and for the estimator."""
    name = _final_name(base)
    if name is None:
        return {}, params
    prefix = f"{name}__"
    own = {k[len(prefix) :]: v for k, v in params.items() if k.startswith(prefix)}
    return {k: v for k, v in params.items() if not k.startswith(prefix)}, own


def _fit_group(base, cands, splits, X, y, budget, max_members) -> list[tuple]:
    """Train one group's (candidate, fold) members; returns
    ``(candidate, fold, fitted estimator or exception, seconds, packed)``.

    A Pipeline's preprocessing (the same for the whole group) is fitted on
    each fold's training rows; its members are the last step, and each
    fitted member is the pipeline of those fitted steps and it."""
    start = time.perf_counter()
    folds = [(_safe_indexing(X, train), _safe_indexing(y, train)) for train, _ in splits]
    steps, inputs = [None] * len(folds), [X_f for X_f, _ in folds]
    if _final_name(base) is not None:
        pre_params = _split_params(base, cands[0][1])[0]
        for f, (X_f, y_f) in enumerate(folds):
            pre = clone(base[:-1]).set_params(**clone(pre_params, safe=False))
            try:
                inputs[f] = pre.fit_transform(X_f, y_f)
            except Exception:
                inputs[f] = None  # the plain fit below raises it for error_score
            steps[f] = pre
    prepared, plain = [], []
    for c, params in cands:
        own = _split_params(base, params)[1]
        for f, (X_f, y_f) in enumerate(folds):
            if inputs[f] is None:
                plain.append((c, f))
                continue
            X_f = inputs[f]
            est = clone(final_step(base)).set_params(**clone(own, safe=False))
            members = _start(est, (c, f), X_f, y_f)
            if members is None:
                plain.append((c, f))
            else:
                prepared.extend(members)
    try:
        outcomes = _run_packs(prepared, budget, max_members)
        # a chosen-epochs fit's refit: the same start, on all the fold's rows
        # for the selection's best epoch count
        refits = [
            p.refit(o.best_epoch)
            for p, o in zip(prepared, outcomes, strict=True)
            if p.selects and not o.diverged
        ]
        refitted = dict(
            zip([q.key for q in refits], _run_packs(refits, budget, max_members), strict=True)
        )
    except (RuntimeError, ValueError, NotImplementedError) as exc:
        if "memory_budget" in str(exc):
            raise
        # e.g. a module that vmap cannot batch: fitted one by one
        _warn_unpacked(len(prepared), exc)
        plain.extend(dict.fromkeys(p.key for p in prepared))  # a bag's key once
        prepared, outcomes = [], []
    results, failed, bags = [], set(), defaultdict(list)
    for p, outcome in zip(prepared, outcomes, strict=True):
        if outcome.diverged or (p.selects and refitted[p.key].diverged):
            failed.add(p.key)  # its plain fit handles the divergence as usual
            continue
        if p.selects:
            final = refitted[p.key]
            p.estimator._packed_finish(final.state, final.history, selection=outcome.history)
        else:
            p.estimator._packed_finish(outcome.state, outcome.history)
        bags[p.key].append(p)
    for key, members in bags.items():
        if key in failed:
            continue  # a bag with a diverged member
        est = members[0].estimator
        if members[0].bag is not None:
            est._packed_bag([m.estimator for m in sorted(members, key=lambda m: m.bag)])
        fitted, fold = est, members[0].fold
        if steps[fold] is not None:  # the fold's fitted preprocessing, then the member
            fitted = clone(base)
            fitted.steps = [*steps[fold].steps, (base.steps[-1][0], est)]
        results.append([*key, fitted, 0.0, True])
    plain.extend(sorted(failed))
    for row in results:
        row[3] = (time.perf_counter() - start) / len(results)
    params = dict(cands)
    for c, f in plain:
        est = clone(base).set_params(**clone(params[c], safe=False))
        fitted, seconds = _plain_fit(est, *folds[f])
        results.append([c, f, fitted, seconds, False])
    return [tuple(r) for r in results]


def _start(est, key, X, y) -> list[_Prepared] | None:
    """The members of ``est``'s fit on ``(X, y)`` begun for a pack: one, or a
    bag's (``bag_folds``) networks, each on its own folds; None where the
    fit cannot be packed (it is then fitted one by one)."""
    if unpackable(est) is not None:
        return None
    selects = selects_epochs(est.get_params(deep=False))
    try:
        size = est._bag_plan(X, y)
    except ValueError:
        return None  # the plain fit raises it for error_score
    if size is None:
        phases = [("select", 0) if selects else None]
        ests = [est]
    else:
        seed = est._bag_seed()
        phases = [("bag", i, size, seed) for i in range(size)]
        ests = [est] + [clone(est) for _ in range(size - 1)]
    members = []
    for i, (member, phase) in enumerate(zip(ests, phases, strict=True)):
        try:
            datasets = member._packed_start(X, y, phase=phase)
        except Exception:
            return None  # the plain fit raises it for error_score
        if _member_unpackable(member, datasets) is not None:
            return None
        bag = None if size is None else i
        one = selects and size is None  # a chosen-epochs fit of one network
        members.append(_Prepared(key, member, key[1], datasets, selects=one, bag=bag))
    return members


def _run_packs(prepared: list[_Prepared], budget: int, max_members) -> list:
    """The outcomes of ``prepared``, in order, each signature packed on its own."""
    by_signature = defaultdict(list)
    for i, p in enumerate(prepared):
        by_signature[p.signature()].append(i)
    outcomes = [None] * len(prepared)
    for positions in by_signature.values():
        # one pack where every member's dropout layers sit where the one
        # with most has its own (skmtl's MLP has none at dropout=0)
        packs: list[tuple[set, list[int]]] = []
        anchors = {i: set(dropout_anchors(prepared[i].estimator.module_)) for i in positions}
        for i in sorted(positions, key=lambda i: -len(anchors[i])):
            home = next((pack for pack in packs if anchors[i] <= pack[0]), None)
            if home is None:
                packs.append((anchors[i], [i]))
            else:
                home[1].append(i)
        for _, members in packs:
            # refits of like length share a chunk: a pack runs as long as its
            # longest member, and its short ones leave it early
            members.sort(key=lambda i: (prepared[i].epochs or 0, i))
            group = [prepared[i] for i in members]
            for i, outcome in zip(members, _run_pack(group, budget, max_members), strict=True):
                outcomes[i] = outcome
    return outcomes


def _warn_unpacked(n: int, exc: Exception) -> None:
    warnings.warn(
        f"{n} member(s) of the search could not be packed ({type(exc).__name__}: {exc}); "
        "they are fitted one by one, as GridSearchCV would.",
        UserWarning,
        stacklevel=4,
    )


class _Store:
    """The trained members, looked up by candidate and training fold. Deep
    copies are the store itself: scikit-learn clones its estimator's
    parameters for every candidate."""

    def __init__(self):
        self.members: dict[tuple[str, str], object] = {}

    def __deepcopy__(self, memo):
        return self

    def add(self, params: dict, fold_key: str, fitted) -> None:
        self.members[(_param_key(params), fold_key)] = fitted

    def take(self, params: dict, X, y):
        return self.members.get((_param_key(params), _fold_key(X, y)))


class _Replay(BaseEstimator):
    """The estimator scikit-learn's search fits during a packed search: its
    ``fit`` takes the member trained for the candidate and fold, or fits
    the candidate as usual (the refit on all rows)."""

    def __init__(self, estimator=None, store=None):
        self.estimator = estimator
        self.store = store

    def set_params(self, **params):
        own = {k: params.pop(k) for k in ("estimator", "store") if k in params}
        super().set_params(**own)
        self.candidate_ = {**self.__dict__.get("candidate_", {}), **params}
        return self

    def __sklearn_tags__(self):
        return self.estimator.__sklearn_tags__()

    def fit(self, X, y=None, **fit_params):
        candidate = self.__dict__.get("candidate_", {})
        fitted = self.store.take(candidate, X, y)
        if fitted is None:
            fitted = clone(self.estimator).set_params(**candidate).fit(X, y, **fit_params)
        elif isinstance(fitted, BaseException):
            raise fitted
        self.fitted_ = fitted
        return self

    def __getattr__(self, name):
        fitted = self.__dict__.get("fitted_")
        if fitted is None or name.startswith("__"):
            raise AttributeError(name)
        return getattr(fitted, name)

    def predict(self, X):
        return self.fitted_.predict(X)

    @available_if(lambda self: hasattr(self.estimator, "predict_proba"))
    def predict_proba(self, X):
        return self.fitted_.predict_proba(X)

    def score(self, X, y=None, sample_weight=None):
        return self.fitted_.score(X, y, sample_weight=sample_weight)


_DOC = """{summary}

    The candidates x folds that can share a network pass are trained
    together as members of one packed network, each with its own rows,
    hyperparameters, optimizer state and stopping; a member never sees its
    scoring fold (its epochs are chosen on a split of its own training
    folds, as a plain fit chooses them). Parameters that change the
    network's shape or data path split the grid into groups, packed one
    after another (or in parallel with ``n_jobs``). Members that cannot be
    packed (sparse or memory-mapped X, callbacks, a task weighting that
    trains parameters or combines gradients, ``lr_schedule="plateau"``,
    another optimizer, batch normalisation, a validation set of their own,
    unshuffled batches) are fitted one by one, as ``{plain}`` fits them;
    ``packed_`` says which. Then scikit-learn's own ``{plain}.fit`` scores
    every member, builds ``cv_results_`` and refits the best as an ordinary
    fit. See the user guide's page "Packed searches".

    Parameters
    ----------
    estimator : MultiTaskClassifier, MultiTaskRegressor or a Pipeline ending in one
        The estimator to tune. A Pipeline's preprocessing is fitted on each
        fold's training rows; parameters of its steps split the grid.
{candidates}
    scoring, n_jobs, refit, cv, verbose, pre_dispatch, error_score, return_train_score
        As in ``{plain}``; ``n_jobs`` runs the groups of the grid in
        parallel through joblib. ``Y`` is an array or a DataFrame, as there.
    max_members : int, "auto" or None, default="auto"
        The most members in one pack; None: as many as ``memory_budget``
        holds; ``"auto"``: 32 on the CPU (beyond it a member-step costs no
        less), None on a GPU.
    memory_budget : int or "auto", default="auto"
        Bytes a pack's training step may take: 2 GiB on the CPU, half the
        free memory of a GPU. One member over it is an error.

    Attributes
    ----------
    cv_results_, best_estimator_, best_score_, best_params_
        As in ``{plain}``. ``mean_fit_time`` and ``std_fit_time`` are each
        member's share of its pack's time; ``best_estimator_`` is an
        ordinary fitted estimator.
    best_index_, scorer_, n_splits_, refit_time_, multimetric_
        As in ``{plain}``.
    packed_ : ndarray of bool, shape (n_candidates, n_splits)
        Whether each candidate's fit on each fold was a member of a pack.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from skmtl import MultiTaskClassifier
    >>> from skmtl.model_selection import {name}
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(120, 4))
    >>> Y = pd.DataFrame({{"a": X[:, 0] > 0, "b": X[:, 1] > 0.5}})
    >>> search = {name}(
    ...     MultiTaskClassifier(hidden_units=(16,), max_epochs=5, random_state=0),
    ...     {example},
    ...     cv=3,
    ... ).fit(X, Y)
    >>> bool(search.packed_.all()), len(search.cv_results_["params"])
    (True, 2)
"""


class _PackedSearch:
    """What the packed searches add to scikit-learn's: the members trained
    first, then scikit-learn's ``fit`` on them."""

    def _candidates(self) -> list[dict]:
        raise NotImplementedError

    def _run_search(self, evaluate_candidates):
        evaluate_candidates(self._packed_candidates)

    def fit(self, X, y=None, **params):
        """Train the members packed, then score, choose and refit as
        scikit-learn's search does.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : DataFrame or array-like of shape (n_samples,) or (n_samples, n_tasks)
        **params
            ``groups`` for the ``cv`` splitter; the members take no other
            fit parameters.

        Returns
        -------
        self
        """
        name = type(self).__name__
        base = self.estimator
        if not is_multi_task(final_step(base)):
            what = type(final_step(base)).__name__
            kind = f"a Pipeline ending in {what}" if final_step(base) is not base else what
            raise TypeError(
                f"{name} packs skmtl's MultiTaskClassifier and MultiTaskRegressor (alone or "
                f"ending a Pipeline); got {kind}. Use sklearn.model_selection.GridSearchCV "
                "for other estimators."
            )
        if y is None:
            raise ValueError(f"{name}.fit requires y, the targets of the tasks.")
        if isinstance(y, Mapping):
            raise TypeError(
                f"{name}.fit takes Y as an array or a DataFrame, as GridSearchCV does "
                "(its folds index the rows); got a dict of tasks. Pass pd.DataFrame(Y)."
            )
        groups = params.pop("groups", None)
        if params:
            raise ValueError(
                f"{name}.fit passes no fit parameters to the packed members; got "
                f"{sorted(params)}. Use GridSearchCV to pass them."
            )
        self._validate_params()
        X, y, groups = indexable(X, y, groups)
        cv = check_cv(self.cv, y, classifier=is_classifier(base))
        splits = list(cv.split(X, y, groups))
        for i, (train, test) in enumerate(splits):
            if len(train) == 0 or len(test) == 0:
                part = "training" if len(train) == 0 else "test"
                raise ValueError(
                    f"cv split {i} has an empty {part} fold; use fewer splits or "
                    "check the splitter's groups."
                )
        candidates = self._candidates()
        for params_ in candidates:
            try:
                clone(base).set_params(**clone(params_, safe=False))
            except ValueError as exc:
                raise ValueError(
                    f"{name}: a parameter in the grid is not one of "
                    f"{type(base).__name__}'s ({exc}). See {type(base).__name__}().get_params()."
                ) from exc
        store, seconds = self._fit_members(base, candidates, X, y, splits)
        saved = self.estimator, self.cv, self.n_jobs
        self._packed_candidates = candidates
        self.estimator, self.cv, self.n_jobs = _Replay(base, store), splits, None
        try:
            # scoring the members is light: here, not on a cluster's workers
            with joblib.parallel_backend("sequential"):
                super().fit(X, y)
        finally:
            self.estimator, self.cv, self.n_jobs = saved
            del self._packed_candidates
        if hasattr(self, "best_estimator_"):
            self.best_estimator_ = self.best_estimator_.fitted_
        if self.scoring is None:  # the passthrough scorer held the look-up and its members
            self.scorer_ = check_scoring(self.estimator)
        # each member's share of its pack's time (scikit-learn timed the look-up)
        self.cv_results_["mean_fit_time"] = seconds.mean(axis=1)
        self.cv_results_["std_fit_time"] = seconds.std(axis=1)
        return self

    def _fit_members(self, base, candidates, X, y, splits) -> tuple[_Store, np.ndarray]:
        """The trained members and each one's seconds, (candidates, splits);
        sets ``packed_``."""
        groups = defaultdict(list)
        for c, params in enumerate(candidates):
            shape = {k: v for k, v in params.items() if not packed_param(base, k)}
            groups[joblib.hash(shape)].append((c, params))
        budget = _budget(self.memory_budget, final_step(base).device)
        if self.verbose > 0:
            print(
                f"Packing {len(splits)} folds for each of {len(candidates)} candidates "
                f"in {len(groups)} group(s)"
            )
        parallel = Parallel(n_jobs=self.n_jobs, pre_dispatch=self.pre_dispatch)
        done = parallel(
            delayed(_fit_group)(base, cands, splits, X, y, budget, self.max_members)
            for cands in groups.values()
        )
        store = _Store()
        keys = [_fold_key(_safe_indexing(X, tr), _safe_indexing(y, tr)) for tr, _ in splits]
        packed = np.zeros((len(candidates), len(splits)), dtype=bool)
        times = np.zeros(packed.shape)
        for rows in done:
            for c, f, fitted, seconds, was_packed in rows:
                store.add(candidates[c], keys[f], fitted)
                packed[c, f], times[c, f] = was_packed, seconds
        self.packed_ = packed
        return store, times


_EXTRA_CONSTRAINTS = {
    "max_members": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"}), None],
    "memory_budget": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
}


class PackedGridSearchCV(_PackedSearch, GridSearchCV):
    __doc__ = _DOC.format(
        summary="``GridSearchCV`` for skmtl's estimators: its candidates x folds trained packed.",
        plain="GridSearchCV",
        name="PackedGridSearchCV",
        candidates="""    param_grid : dict or list of dict
        The candidates, as in ``GridSearchCV``.""",
        example='{"lr": [1e-3, 1e-2]}',
    )

    _parameter_constraints: dict = {**GridSearchCV._parameter_constraints, **_EXTRA_CONSTRAINTS}

    def __init__(
        self,
        estimator,
        param_grid,
        *,
        scoring=None,
        n_jobs=None,
        refit=True,
        cv=None,
        verbose=0,
        pre_dispatch="2*n_jobs",
        error_score=np.nan,
        return_train_score=False,
        max_members="auto",
        memory_budget="auto",
    ):
        super().__init__(
            estimator,
            param_grid,
            scoring=scoring,
            n_jobs=n_jobs,
            refit=refit,
            cv=cv,
            verbose=verbose,
            pre_dispatch=pre_dispatch,
            error_score=error_score,
            return_train_score=return_train_score,
        )
        self.max_members = max_members
        self.memory_budget = memory_budget

    def _candidates(self) -> list[dict]:
        return list(ParameterGrid(self.param_grid))


class PackedRandomizedSearchCV(_PackedSearch, RandomizedSearchCV):
    __doc__ = _DOC.format(
        summary=(
            "``RandomizedSearchCV`` for skmtl's estimators: its candidates x folds trained packed."
        ),
        plain="RandomizedSearchCV",
        name="PackedRandomizedSearchCV",
        candidates="""    param_distributions : dict or list of dict
        What to draw the candidates from, as in ``RandomizedSearchCV``.
    n_iter : int, default=10
        The number of candidates drawn.
    random_state : int, RandomState instance or None, default=None
        Seeds the draw, as in ``RandomizedSearchCV``.""",
        example='{"lr": [1e-3, 1e-2]}, n_iter=2, random_state=0',
    )

    _parameter_constraints: dict = {
        **RandomizedSearchCV._parameter_constraints,
        **_EXTRA_CONSTRAINTS,
    }

    def __init__(
        self,
        estimator,
        param_distributions,
        *,
        n_iter=10,
        scoring=None,
        n_jobs=None,
        refit=True,
        cv=None,
        verbose=0,
        pre_dispatch="2*n_jobs",
        random_state=None,
        error_score=np.nan,
        return_train_score=False,
        max_members="auto",
        memory_budget="auto",
    ):
        super().__init__(
            estimator,
            param_distributions,
            n_iter=n_iter,
            scoring=scoring,
            n_jobs=n_jobs,
            refit=refit,
            cv=cv,
            verbose=verbose,
            pre_dispatch=pre_dispatch,
            random_state=random_state,
            error_score=error_score,
            return_train_score=return_train_score,
        )
        self.max_members = max_members
        self.memory_budget = memory_budget

    def _candidates(self) -> list[dict]:
        return list(
            ParameterSampler(self.param_distributions, self.n_iter, random_state=self.random_state)
        )
