"""PackedGridSearchCV and PackedRandomizedSearchCV: the members of a grid
trained as one packed network, with GridSearchCV's interface and answers."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch
from scipy.stats import loguniform
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, KFold, RandomizedSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from support import StopAfter

import skmtl.model_selection._packed as packed_module
import skmtl.training._packing as packing
from skmtl import MultiTaskClassifier, MultiTaskRegressor, MultiTaskValidSplit, task_scorer
from skmtl.model_selection import (
    MultiTaskStratifiedKFold,
    PackedGridSearchCV,
    PackedRandomizedSearchCV,
)
from skmtl.nn import MLPTrunk, MultiTaskLoss, MultiTaskModule
from skmtl.training._packing import PackMember, PackSettings, train_packed


def small(**params):
    """A network small enough for many fits in a test; the default recipe of
    one network (a bag is fitted one by one)."""
    params = {"hidden_units": (32, 32), "random_state": 0, "bag_folds": None, **params}
    return MultiTaskClassifier(**params)


CV = MultiTaskStratifiedKFold(3, shuffle=True, random_state=0)


# ------------------------------------------------------------ same answers


def seed_noise(est, grid, cv, X, Y):
    """How much GridSearchCV's own mean scores move with another random_state."""
    one = GridSearchCV(est, grid, cv=cv, refit=False).fit(X, Y)
    other = GridSearchCV(clone(est).set_params(random_state=1), grid, cv=cv, refit=False)
    other.fit(X, Y)
    moved = one.cv_results_["mean_test_score"] - other.cv_results_["mean_test_score"]
    return one, float(np.abs(moved).mean())


def test_same_answers_as_grid_search(penguins):
    X, Y = penguins
    grid = {"lr": [1e-3, 1e-2], "dropout": [0.0, 0.3]}
    packed = PackedGridSearchCV(small(), grid, cv=CV).fit(X, Y)
    plain, noise = seed_noise(small(), grid, CV, X, Y)
    assert packed.packed_.all()
    assert sorted(packed.cv_results_) == sorted(plain.cv_results_)
    assert packed.cv_results_["params"] == plain.cv_results_["params"]
    gap = np.abs(packed.cv_results_["mean_test_score"] - plain.cv_results_["mean_test_score"])
    # within the noise: GridSearchCV's own scores move as much with another seed
    assert gap.mean() <= max(0.01, 1.5 * noise), (gap, noise)
    # the best of one is within the fold-to-fold noise of the best of the other
    spread = plain.cv_results_["std_test_score"].max()
    best = plain.cv_results_["mean_test_score"].max()
    assert plain.cv_results_["mean_test_score"][packed.best_index_] >= best - spread
    assert packed.n_splits_ == plain.n_splits_ == 3


def test_cv_results_have_grid_search_keys(penguins):
    X, Y = penguins
    grid = {"lr": [1e-3, 1e-2]}
    est = small(max_epochs=2)
    packed = PackedGridSearchCV(est, grid, cv=CV, return_train_score=True).fit(X, Y)
    plain = GridSearchCV(est, grid, cv=CV, return_train_score=True).fit(X, Y)
    assert sorted(packed.cv_results_) == sorted(plain.cv_results_)
    for key in ("best_params_", "best_score_", "best_index_", "refit_time_", "n_splits_"):
        assert hasattr(packed, key)


def test_cv_results_report_each_members_share_of_the_pack_time(penguins):
    X, Y = penguins
    search = PackedGridSearchCV(small(max_epochs=3), {"lr": [1e-3, 1e-2]}, cv=CV).fit(X, Y)
    times = search.cv_results_["mean_fit_time"]
    assert times.shape == (2,) and (times > 0).all()
    assert search.cv_results_["std_fit_time"].shape == (2,)


# ------------------------------------------------------------- isolation


def test_a_member_never_sees_its_scoring_fold():
    # labels that are noise: a network that trained on its scoring rows
    # would score on them as on its training rows
    rng = np.random.default_rng(0)
    X = rng.normal(size=(240, 6)).astype(np.float32)
    Y = {"a": rng.integers(0, 2, 240), "b": rng.integers(0, 2, 240)}
    est = MultiTaskClassifier(hidden_units=(128, 128), max_epochs=80, lr=1e-2, random_state=0)
    search = PackedGridSearchCV(
        est,
        {"weight_decay": [0.0]},
        cv=KFold(3, shuffle=True, random_state=0),
        return_train_score=True,
        refit=False,
    ).fit(X, pd.DataFrame(Y))
    assert search.packed_.all()
    assert search.cv_results_["mean_train_score"][0] > 0.95  # it memorised its rows ...
    assert search.cv_results_["mean_test_score"][0] < 0.65  # ... and never saw the others


def test_candidate_scores_do_not_depend_on_the_rest_of_the_grid(penguins):
    # members share a pack but not rows, batches, optimizer state or stopping
    X, Y = penguins
    est = small(dropout=0.0)  # the dropout masks are drawn for the pack as a whole
    alone = PackedGridSearchCV(est, {"lr": [3e-3]}, cv=CV, refit=False).fit(X, Y)
    together = PackedGridSearchCV(est, {"lr": [3e-3, 3e-2, 1e-4]}, cv=CV, refit=False).fit(X, Y)
    np.testing.assert_allclose(
        [alone.cv_results_[f"split{k}_test_score"][0] for k in range(3)],
        [together.cv_results_[f"split{k}_test_score"][0] for k in range(3)],
        atol=1e-12,
    )


def _members(n, epochs, lrs, patience=None, valid=False):
    torch.manual_seed(0)
    module = MultiTaskModule(MLPTrunk(5, hidden_units=(16,)), 16, [3, 2])
    criterion = MultiTaskLoss(torch.nn.CrossEntropyLoss(ignore_index=-1, reduction="none"), [1, 1])
    from skmtl.nn import make_weighting

    return [
        PackMember(
            module=copy.deepcopy(module),
            criterion=criterion,
            weighting=make_weighting("equal", 2),
            train_rows=torch.arange(0, 48),
            valid_rows=torch.arange(48, 64) if valid else None,
            lr=lr,
            weight_decay=1e-4,
            epochs=e,
            patience=patience,
            seed=1,
        )
        for lr, e in zip(lrs, epochs, strict=True)
    ][:n]


def _data():
    g = torch.Generator().manual_seed(0)
    X = torch.randn(64, 5, generator=g)
    Y = torch.stack([(X[:, 0] > 0).long() + (X[:, 1] > 1).long(), (X[:, 2] > 0).long()], 1)
    return X, Y


def test_members_do_not_share_optimizer_state():
    X, Y = _data()
    settings = PackSettings(batch_size=16, classification=(True, True))
    alone = train_packed(_members(1, [4], [1e-3]), X, Y, settings)[0]
    # a neighbour with a rate 100 times larger moves Adam's moments a lot
    packed = train_packed(_members(2, [4, 4], [1e-3, 1e-1]), X, Y, settings)
    for name, value in alone.state.items():
        torch.testing.assert_close(packed[0].state[name], value)
        assert not torch.equal(packed[1].state[name], value) or "fit_digest" in name


def test_a_stopped_member_takes_no_further_step(monkeypatch):
    X, Y = _data()
    sizes = []
    step = packing._Pack.step

    def spy(self, lr):
        sizes.append((len(self), lr.tolist()))
        return step(self, lr)

    monkeypatch.setattr(packing._Pack, "step", spy)
    settings = PackSettings(batch_size=16, classification=(True, True))
    outcomes = train_packed(_members(2, [2, 5], [1e-2, 1e-2]), X, Y, settings)
    assert [o.epochs for o in outcomes] == [2, 5]
    assert [len(o.history) for o in outcomes] == [2, 5]
    # 3 steps an epoch (48 rows, batches of 16): both members for 2 epochs, then one
    assert [n for n, _ in sizes] == [2] * 6 + [1] * 9
    # and it ends as it was when it stopped: as if it had trained alone
    alone = train_packed(_members(1, [2], [1e-2]), X, Y, settings)[0]
    for name, value in alone.state.items():
        torch.testing.assert_close(outcomes[0].state[name], value)


def test_each_member_stops_at_its_own_patience():
    X, Y = _data()
    settings = PackSettings(
        batch_size=16, classification=(True, True), monitor="valid_loss", lower_is_better=True
    )
    # a rate of 0 never improves after its first epoch; 1e-2 keeps improving
    members = _members(2, [30, 30], [0.0, 1e-2], patience=3, valid=True)
    frozen, learning = train_packed(members, X, Y, settings)
    assert frozen.epochs == 4 and frozen.best_epoch == 1
    assert learning.epochs > frozen.epochs
    assert learning.best_epoch == learning.epochs - 3 or learning.epochs == 30


def test_the_batched_network_matches_vmap_over_the_modules():
    torch.manual_seed(0)
    X, Y = _data()
    members = _members(3, [1, 1, 1], [1e-3, 1e-2, 1e-1])
    settings = PackSettings(batch_size=16, classification=(True, True))
    batched = packing._Pack(members, settings, X, Y)
    mapped = packing._Pack(members, settings, X, Y)
    assert batched.batched is not None
    mapped.batched, mapped.written = None, set()
    mapped.template = packing._template(members[0].module, mapped.dropouts)
    idx = torch.randint(0, 64, (3, 16))
    grads = []
    for pack in (batched, mapped):
        outputs = pack.forward(X[idx], pack.masks(16))
        members[0].criterion.member_task_losses(outputs, Y[idx]).sum().backward()
        grads.append({k: v.grad.clone() for k, v in pack.params.items()})
    for name in grads[0]:
        torch.testing.assert_close(grads[0][name], grads[1][name])


def test_a_network_vmap_packs_too(penguins):
    # LayerNorm is outside the batched layers: the pack vmaps the modules
    X, Y = penguins
    est = small(norm="layer", max_epochs=3)
    packed = PackedGridSearchCV(est, {"lr": [1e-3, 1e-2]}, cv=CV, refit=False).fit(X, Y)
    plain = GridSearchCV(est, {"lr": [1e-3, 1e-2]}, cv=CV, refit=False).fit(X, Y)
    assert packed.packed_.all()
    gap = np.abs(packed.cv_results_["mean_test_score"] - plain.cv_results_["mean_test_score"])
    assert gap.max() < 0.05


# ----------------------------------------------------- interface and refit


def test_best_estimator_is_an_ordinary_refit(penguins):
    X, Y = penguins
    est = small(max_epochs=4)
    search = PackedGridSearchCV(est, {"lr": [1e-3, 1e-2]}, cv=CV).fit(X, Y)
    best = search.best_estimator_
    assert type(best) is MultiTaskClassifier
    expected = clone(est).set_params(**search.best_params_).fit(X, Y)
    pd.testing.assert_frame_equal(search.predict(X), expected.predict(X))
    assert search.score(X, Y) == expected.score(X, Y)
    again = pickle.loads(pickle.dumps(search))
    pd.testing.assert_frame_equal(again.predict(X), search.predict(X))


def test_multi_metric_scoring_with_task_scorers(penguins):
    X, Y = penguins
    scoring = {"mean": task_scorer("mean"), "sex_f1": task_scorer("sex", "f1_macro")}
    est = small(max_epochs=3)
    grid = {"lr": [1e-3, 1e-2]}
    packed = PackedGridSearchCV(est, grid, scoring=scoring, refit="sex_f1", cv=CV).fit(X, Y)
    plain = GridSearchCV(est, grid, scoring=scoring, refit="sex_f1", cv=CV).fit(X, Y)
    assert sorted(packed.cv_results_) == sorted(plain.cv_results_)
    assert packed.best_score_ == packed.cv_results_["mean_test_sex_f1"][packed.best_index_]
    assert isinstance(packed.scorer_, dict) and set(packed.scorer_) == {"mean", "sex_f1"}


def test_randomized_search_draws_the_same_candidates(penguins):
    X, Y = penguins
    dists = {"lr": loguniform(1e-4, 1e-1), "dropout": [0.0, 0.2]}
    est = small(max_epochs=2)
    packed = PackedRandomizedSearchCV(est, dists, n_iter=3, random_state=0, cv=CV).fit(X, Y)
    plain = RandomizedSearchCV(est, dists, n_iter=3, random_state=0, cv=CV).fit(X, Y)
    assert packed.cv_results_["params"] == plain.cv_results_["params"]
    assert packed.packed_.all()


def test_regressor(penguins):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 4)).astype(np.float32)
    Y = pd.DataFrame({"u": X[:, 0] * 2 + rng.normal(size=200), "v": X[:, 1] - X[:, 2]})
    est = MultiTaskRegressor(hidden_units=(32,), random_state=0, bag_folds=None)
    grid = {"lr": [1e-3, 1e-2]}
    cv = KFold(3, shuffle=True, random_state=0)
    packed = PackedGridSearchCV(est, grid, cv=cv).fit(X, Y)
    plain, noise = seed_noise(est, grid, cv, X, Y)
    assert packed.packed_.all()
    gap = np.abs(packed.cv_results_["mean_test_score"] - plain.cv_results_["mean_test_score"])
    assert gap.mean() <= max(0.01, 1.5 * noise), (gap, noise)
    assert type(packed.best_estimator_) is MultiTaskRegressor


def test_groups_split_the_grid_and_each_packs(penguins):
    X, Y = penguins
    grid = {"hidden_units": [(16,), (32,)], "lr": [1e-3, 1e-2]}
    search = PackedGridSearchCV(small(max_epochs=2), grid, cv=CV, refit=False).fit(X, Y)
    assert search.packed_.shape == (4, 3) and search.packed_.all()


# ----------------------------------------------------------- fit one by one


def test_unpackable_members_are_fitted_as_grid_search_fits_them(penguins):
    X, Y = penguins
    est = small(max_epochs=3, callbacks=[("stop", StopAfter(50))])
    grid = {"lr": [1e-3, 1e-2]}
    packed = PackedGridSearchCV(est, grid, cv=CV, refit=False).fit(X, Y)
    plain = GridSearchCV(est, grid, cv=CV, refit=False).fit(X, Y)
    assert not packed.packed_.any()
    np.testing.assert_array_equal(
        packed.cv_results_["mean_test_score"], plain.cv_results_["mean_test_score"]
    )


def test_a_bag_packs_its_networks_and_answers_as_grid_search(penguins, monkeypatch):
    X, Y = penguins
    grid = {"lr": [1e-3, 1e-2]}
    est = small(bag_folds=3, max_epochs=15, patience=3)
    sizes = []
    original = packing.train_packed

    def spy(members, *args, **kwargs):
        sizes.append(len(members))
        return original(members, *args, **kwargs)

    bags = []
    assemble = MultiTaskClassifier._packed_bag

    def bag_spy(self, members):
        assemble(self, members)
        bags.append((len(members), type(self.module_).__name__, self.bag_size_))

    monkeypatch.setattr("skmtl.model_selection._packed.train_packed", spy)
    monkeypatch.setattr(MultiTaskClassifier, "_packed_bag", bag_spy)
    packed = PackedGridSearchCV(est, grid, cv=CV, refit=False).fit(X, Y)
    plain, noise = seed_noise(est, grid, CV, X, Y)
    # 2 candidates x 3 folds x 3 networks, trained together
    assert packed.packed_.all() and sum(sizes) == 18
    gap = np.abs(packed.cv_results_["mean_test_score"] - plain.cv_results_["mean_test_score"])
    assert gap.mean() <= max(0.02, 1.5 * noise), (gap, noise)
    assert bags == [(3, "BaggedModule", 3)] * 6


def test_sparse_X_is_fitted_one_by_one():
    rng = np.random.default_rng(0)
    X = sp.random(90, 12, density=0.3, format="csr", random_state=0, dtype=np.float32)
    Y = {"a": rng.integers(0, 2, 90)}
    search = PackedGridSearchCV(
        MultiTaskClassifier(hidden_units=(8,), max_epochs=2, random_state=0),
        {"lr": [1e-3, 1e-2]},
        cv=3,
        refit=False,
    ).fit(X, Y["a"])
    assert not search.packed_.any()
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()


# ------------------------------------------------------------------ errors


def test_an_estimator_that_is_not_skmtls_is_refused(penguins):
    X, Y = penguins
    with pytest.raises(TypeError, match=r"packs skmtl's .* got LogisticRegression\. Use "):
        PackedGridSearchCV(LogisticRegression(), {"C": [1.0]}).fit(X, Y["sex"])
    pipe = make_pipeline(StandardScaler(), LogisticRegression())
    with pytest.raises(TypeError, match="got a Pipeline ending in LogisticRegression"):
        PackedGridSearchCV(pipe, {"logisticregression__C": [1.0]}).fit(X, Y["sex"])


def test_a_pipeline_packs_its_last_step_on_each_folds_preprocessing():
    # a table with a categorical column and missing values, as users have it
    from skmtl import make_tabular_pipeline

    rng = np.random.default_rng(0)
    X = pd.DataFrame(
        {
            "x": rng.normal(size=300),
            "z": rng.normal(size=300),
            "colour": rng.choice(["red", "green", None], size=300),
        }
    )
    Y = pd.DataFrame({"a": (X["x"] > 0).astype(int), "b": np.where(X["colour"] == "red", "r", "o")})
    pipe = make_tabular_pipeline(
        X, MultiTaskClassifier(hidden_units=(16,), max_epochs=6, random_state=0)
    )
    last = pipe.steps[-1][0]
    grid = {f"{last}__lr": [1e-3, 1e-2]}
    cv = KFold(3, shuffle=True, random_state=0)
    packed = PackedGridSearchCV(pipe, grid, cv=cv).fit(X, Y)
    plain = GridSearchCV(pipe, grid, cv=cv).fit(X, Y)
    assert packed.packed_.all()
    assert sorted(packed.cv_results_) == sorted(plain.cv_results_)
    gap = np.abs(packed.cv_results_["mean_test_score"] - plain.cv_results_["mean_test_score"])
    assert gap.max() < 0.05
    assert type(packed.best_estimator_) is type(pipe)
    pd.testing.assert_frame_equal(packed.predict(X), packed.best_estimator_.predict(X))


def test_an_unknown_parameter_is_refused(penguins):
    X, Y = penguins
    with pytest.raises(ValueError, match="a parameter in the grid is not one of MultiTask"):
        PackedGridSearchCV(small(), {"learning_rate": [1e-3]}, cv=CV).fit(X, Y)


def test_an_empty_fold_is_refused(penguins):
    X, Y = penguins
    folds = [(np.arange(100), np.arange(100, 200)), (np.arange(200), np.array([], dtype=int))]
    with pytest.raises(ValueError, match="cv split 1 has an empty test fold"):
        PackedGridSearchCV(small(), {"lr": [1e-3]}, cv=folds).fit(X, Y)


def test_a_dict_of_tasks_is_refused_with_the_fix(penguins):
    X, Y = penguins
    with pytest.raises(TypeError, match=r"got a dict of tasks\. Pass pd\.DataFrame\(Y\)"):
        PackedGridSearchCV(small(), {"lr": [1e-3]}, cv=CV).fit(X, {c: Y[c] for c in Y})


def test_fit_parameters_are_refused(penguins):
    X, Y = penguins
    with pytest.raises(ValueError, match=r"passes no fit parameters .*\['sample_weight'\]"):
        PackedGridSearchCV(small(), {"lr": [1e-3]}, cv=CV).fit(X, Y, sample_weight=np.ones(len(X)))


def test_a_member_over_the_memory_budget_is_refused(penguins):
    X, Y = penguins
    search = PackedGridSearchCV(small(), {"lr": [1e-3]}, cv=CV, memory_budget=1000)
    with pytest.raises(ValueError, match="One member of the packed search needs about .* MiB"):
        search.fit(X, Y)
    assert not hasattr(search, "cv_results_")


def test_max_members_packs_in_chunks(penguins, monkeypatch):
    X, Y = penguins
    sizes = []
    original = packing.train_packed

    def spy(members, *args, **kwargs):
        sizes.append(len(members))
        return original(members, *args, **kwargs)

    monkeypatch.setattr("skmtl.model_selection._packed.train_packed", spy)
    grid = {"lr": [1e-3, 3e-3, 1e-2]}
    PackedGridSearchCV(small(max_epochs=2), grid, cv=CV, max_members=4, refit=False).fit(X, Y)
    assert sizes == [3, 3, 3]  # 9 members in even chunks of at most 4


def test_groups_train_in_parallel_through_joblib(penguins):
    X, Y = penguins
    grid = {"hidden_units": [(8,), (16,)], "lr": [1e-3, 1e-2]}
    est = small(max_epochs=2)
    serial = PackedGridSearchCV(est, grid, cv=CV, refit=False).fit(X, Y)
    parallel = PackedGridSearchCV(est, grid, cv=CV, refit=False, n_jobs=2).fit(X, Y)
    assert parallel.packed_.all()
    np.testing.assert_allclose(
        parallel.cv_results_["mean_test_score"], serial.cv_results_["mean_test_score"]
    )
    assert parallel.n_jobs == 2  # given back after the search's own fit


def test_members_whose_seeds_scale_a_fold_differently_keep_their_own_rows(monkeypatch):
    # beyond the quantile scaler's sample, each seed draws its own quantiles
    rng = np.random.default_rng(0)
    X = rng.lognormal(size=(24_000, 3)).astype(np.float32)  # folds over its 10,000
    Y = pd.DataFrame({"a": X[:, 0] > 1.0})
    est = MultiTaskClassifier(
        hidden_units=(8,), max_epochs=1, feature_scaling="quantile", numeric_embedding=None
    )
    search = PackedGridSearchCV(
        est, {"random_state": [0, 1]}, cv=KFold(2, shuffle=True, random_state=0), refit=False
    )
    sizes = []
    original = packing.train_packed

    def spy(members, X, *args, **kwargs):
        sizes.append(len(X))
        return original(members, X, *args, **kwargs)

    monkeypatch.setattr("skmtl.model_selection._packed.train_packed", spy)
    search.fit(X, Y)
    assert search.packed_.all()
    assert sizes == [4 * 12_000]  # two folds, each scaled by two seeds' quantiles


def test_max_epochs_zero_builds_without_training(penguins):
    X, Y = penguins
    search = PackedGridSearchCV(small(max_epochs=0), {"lr": [1e-3]}, cv=CV, refit=False)
    search.fit(X, Y)
    assert not search.packed_.any()  # nothing to pack: fitted as GridSearchCV fits it


# ------------------------------------------------- found in review, kept fixed


def _tasks(n=240, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 6)).astype(np.float32)
    Y = pd.DataFrame({"a": (X[:, 0] + X[:, 1] > 0).astype(int), "b": (X[:, 2] > 0).astype(int)})
    return X, Y


def test_autocast_gradients_do_not_pile_up_across_steps():
    # under bf16 autocast the batched layers leave the backward to autograd,
    # which sums into .grad: the pack must clear it after every step
    X, Y = _tasks()
    est = MultiTaskClassifier(
        hidden_units=(32,), max_epochs=8, mixed_precision=True, random_state=0
    )
    cv = KFold(3, shuffle=True, random_state=0)
    packed = PackedGridSearchCV(est, {"lr": [2e-3]}, cv=cv, refit=False).fit(X, Y)
    plain = GridSearchCV(est, {"lr": [2e-3]}, cv=cv, refit=False).fit(X, Y)
    assert packed.packed_.all()
    gap = packed.cv_results_["mean_test_score"][0] - plain.cv_results_["mean_test_score"][0]
    assert abs(gap) < 0.02, gap


def test_batch_size_all_rows_trains():
    X, Y = _tasks()
    est = MultiTaskClassifier(
        hidden_units=(32,), max_epochs=30, batch_size=-1, lr=1e-2, random_state=0
    )
    cv = KFold(3, shuffle=True, random_state=0)
    packed = PackedGridSearchCV(est, {"dropout": [0.0]}, cv=cv, refit=False).fit(X, Y)
    plain = GridSearchCV(est, {"dropout": [0.0]}, cv=cv, refit=False).fit(X, Y)
    assert packed.packed_.all()
    assert packed.cv_results_["mean_test_score"][0] > 0.8  # chance is 0.5
    assert (
        abs(packed.cv_results_["mean_test_score"][0] - plain.cv_results_["mean_test_score"][0])
        < 0.03
    )


def test_a_member_is_the_same_beside_a_fold_of_another_size():
    # uneven folds (a time series split): a fold's member takes its own
    # steps an epoch and keeps its own Adam state whatever folds run with it
    X, Y = _tasks(300)
    est = MultiTaskClassifier(hidden_units=(16,), max_epochs=4, dropout=0.0, random_state=0)
    short = (np.arange(60), np.arange(260, 300))
    long = (np.arange(200), np.arange(200, 260))
    alone = PackedGridSearchCV(est, {"lr": [1e-2]}, cv=[short], refit=False).fit(X, Y)
    both = PackedGridSearchCV(est, {"lr": [1e-2]}, cv=[short, long], refit=False).fit(X, Y)
    assert both.packed_.all()
    assert both.cv_results_["split0_test_score"][0] == alone.cv_results_["split0_test_score"][0]


def test_members_of_different_step_counts_are_refused_in_one_pack():
    X, Y = _data()
    members = _members(2, [2, 2], [1e-3, 1e-3])
    members[1].train_rows = torch.arange(0, 20)  # 2 steps an epoch, where the other takes 3
    with pytest.raises(ValueError, match="as many steps an epoch"):
        train_packed(members, X, Y, PackSettings(batch_size=16, classification=(True, True)))


def test_the_refit_starts_its_task_weighting_anew(penguins, monkeypatch):
    X, Y = penguins
    seen = []
    original = packing.train_packed

    def spy(members, *args, **kwargs):
        seen.append([(m.weighting.weights.clone(), m.weighting.history.clone()) for m in members])
        return original(members, *args, **kwargs)

    monkeypatch.setattr("skmtl.model_selection._packed.train_packed", spy)
    PackedGridSearchCV(small(task_weighting="dwa"), {"lr": [1e-2]}, cv=CV, refit=False).fit(X, Y)
    assert len(seen) == 2  # the selection pack, then the refit pack
    for weights, history in seen[1]:
        assert torch.equal(weights, torch.ones_like(weights))
        assert torch.isnan(history).all()


def test_a_frozen_parameter_stays_as_it_was():
    X, Y = _data()
    members = _members(2, [3, 3], [1e-2, 1e-2])
    frozen = members[0].module.trunk.layers[0].weight
    for m in members:
        m.module.trunk.layers[0].weight.requires_grad_(False)
    outcomes = train_packed(members, X, Y, PackSettings(batch_size=16, classification=(True, True)))
    bias = members[0].module.trunk.layers[0].bias.detach()
    for outcome in outcomes:
        torch.testing.assert_close(outcome.state["trunk.layers.0.weight"], frozen.detach())
        assert not torch.equal(outcome.state["trunk.layers.0.bias"], bias)  # the rest trains


@pytest.mark.parametrize(
    "params",
    [
        {"norm": "batch"},
        {"iterator_train__shuffle": False},
        {"iterator_train__drop_last": True},
    ],
    ids=["batch-norm", "unshuffled", "drop-last"],
)
def test_what_a_pack_cannot_honour_is_fitted_one_by_one(penguins, params):
    X, Y = penguins
    est = small(max_epochs=2, **params)
    grid = {"lr": [1e-3]}
    packed = PackedGridSearchCV(est, grid, cv=CV, refit=False).fit(X, Y)
    plain = GridSearchCV(est, grid, cv=CV, refit=False).fit(X, Y)
    assert not packed.packed_.any()
    np.testing.assert_array_equal(
        packed.cv_results_["mean_test_score"], plain.cv_results_["mean_test_score"]
    )


def test_a_predefined_validation_set_is_fitted_one_by_one(penguins):
    from skorch.dataset import Dataset
    from skorch.helper import predefined_split

    X, Y = penguins
    split = predefined_split(Dataset(X.iloc[:40], Y.iloc[:40]))
    est = small(max_epochs=20, early_stopping=True, patience=3, train_split=split)
    search = PackedGridSearchCV(est, {"lr": [1e-2]}, cv=CV, refit=False).fit(X, Y)
    assert not search.packed_.any()


def test_the_fitted_search_keeps_no_member(penguins):
    X, Y = penguins
    search = PackedGridSearchCV(small(max_epochs=2), {"lr": [1e-3, 1e-2]}, cv=CV).fit(X, Y)
    held = [v for v in vars(search.scorer_).values()]
    assert not any(type(v).__name__ == "_Replay" for v in held)
    assert search.scorer_(search.best_estimator_, X, Y) == search.score(X, Y)


def test_a_preprocessing_parameter_splits_the_grid(penguins, monkeypatch):
    from skmtl import make_tabular_pipeline

    X, Y = penguins
    pipe = make_tabular_pipeline(X, small(max_epochs=2))
    last = pipe.steps[-1][0]
    grid = {
        "columntransformer__numeric__add_indicator": [False, True],
        f"{last}__lr": [1e-3, 1e-2],
    }
    sizes = []
    original = packing.train_packed

    def spy(members, X, *args, **kwargs):
        sizes.append((len(members), X.shape[1]))
        return original(members, X, *args, **kwargs)

    monkeypatch.setattr("skmtl.model_selection._packed.train_packed", spy)
    search = PackedGridSearchCV(pipe, grid, cv=CV, refit=False).fit(X, Y)
    assert search.packed_.all()
    # two groups of 2 candidates x 3 folds, each with its own preprocessing
    assert sizes == [(6, 4), (6, 4)]


def test_a_bag_the_fit_would_refuse_is_left_to_the_plain_fit(penguins):
    X, Y = penguins
    est = small(bag_folds=2, max_epochs=2, train_split=MultiTaskValidSplit(0.2))
    search = PackedGridSearchCV(est, {"lr": [1e-3]}, cv=CV, error_score="raise")
    with pytest.raises(ValueError, match="holds out each fold in turn"):
        search.fit(X, Y)


def test_a_bag_that_cannot_be_packed_is_fitted_once(penguins, monkeypatch):
    X, Y = penguins
    calls = []
    plain_fit = packed_module._plain_fit

    def spy(est, X, y):
        calls.append(1)
        return plain_fit(est, X, y)

    def fail(*args, **kwargs):
        raise RuntimeError("cannot pack")

    monkeypatch.setattr(packed_module, "_run_packs", fail)
    monkeypatch.setattr(packed_module, "_plain_fit", spy)
    est = small(bag_folds=2, max_epochs=2)
    with pytest.warns(UserWarning, match="could not be packed"):
        search = PackedGridSearchCV(est, {"lr": [1e-3]}, cv=CV, refit=False).fit(X, Y)
    assert len(calls) == 3 and not search.packed_.any()
