"""bag_folds: a bag of networks, each trained on all folds but one and
stopped at its best epoch on that one, answering as one model."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.exceptions import NotFittedError
from skorch.callbacks import Checkpoint
from skorch.dataset import Dataset
from support import exactly

import skmtl
from skmtl import MultiTaskClassifier, MultiTaskRegressor, MultiTaskValidSplit
from skmtl.exceptions import DivergenceWarning
from skmtl.nn import BaggedModule, MultiTaskModule
from skmtl.training import bag_size, best_epochs
from skmtl.training._epochs import BAG_FOLDS, BAG_ROWS
from skmtl.training._valid_split import BagFoldSplit


def _table(n=300, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4)).astype(np.float32)
    Y = pd.DataFrame(
        {
            "a": np.where(X[:, 0] + 0.3 * rng.normal(size=n) > 0, "yes", "no"),
            "b": np.digitize(X[:, 1] - X[:, 2], [-0.5, 0.5]),
        }
    )
    return X, Y


def small(**params):
    """The default recipe on a small network, with a short patience for speed."""
    params = {"hidden_units": (16,), "random_state": 0, "patience": 3, **params}
    return MultiTaskClassifier(**params)


def _member_probabilities(clf, X):
    """Each member's own softmax, task by task."""
    X = torch.as_tensor(clf.feature_scaler_.transform(X), dtype=torch.float32)
    with torch.no_grad():
        return [
            [torch.softmax(out, dim=-1).numpy() for out in member.eval()(X)]
            for member in clf.module_.members
        ]


def test_the_rule_of_auto():
    def size(n_rows, **params):
        return bag_size(MultiTaskClassifier(**params).get_params(deep=False), n_rows)

    assert size(BAG_ROWS) == BAG_FOLDS == 5
    assert size(BAG_ROWS + 1) is None
    assert size(BAG_FOLDS - 1) is None  # fewer rows than folds
    for one_network in ({"max_epochs": 5}, {"early_stopping": True}, {"train_split": None}):
        assert size(100, **one_network) is None  # the fit would not choose its epochs
    assert size(100, ensemble_size=4) is None  # a packed ensemble averages already
    assert size(100, bag_folds=None) is None
    assert size(10**6, bag_folds=3, max_epochs=5) == 3


def test_a_small_table_is_a_bag_by_default():
    X, Y = _table()
    clf = small().fit(X, Y)
    assert clf.bag_size_ == 5
    assert type(clf.module_) is BaggedModule
    assert [type(m) for m in clf.module_.members] == [MultiTaskModule] * 5
    assert len(clf.bag_histories_) == 5 and clf.history_ is not None
    assert not hasattr(clf, "selection_history_")
    assert all("valid_acc" in h[-1] for h in clf.bag_histories_)


def test_bag_folds_none_trains_one_network():
    X, Y = _table()
    clf = small(bag_folds=None).fit(X, Y)
    assert type(clf.module_) is MultiTaskModule
    assert not hasattr(clf, "bag_size_") and not hasattr(clf, "bag_histories_")
    assert hasattr(clf, "selection_history_")


def test_a_refit_as_one_network_forgets_the_bag():
    X, Y = _table()
    clf = small().fit(X, Y)
    clf.set_params(bag_folds=None).fit(X, Y)
    assert type(clf.module_) is MultiTaskModule and not hasattr(clf, "bag_size_")


def test_the_prediction_is_the_members_mean_probability():
    X, Y = _table()
    clf = small().fit(X, Y)
    members = _member_probabilities(clf, X)
    proba = clf.predict_proba(X)
    for t, task in enumerate(clf.tasks_):
        mean = np.mean([m[t] for m in members], axis=0)
        np.testing.assert_allclose(proba[task], mean, atol=1e-5)
    # the members differ: each trained on its own rows from its own start
    assert not np.allclose(members[0][0], members[1][0], atol=1e-3)


def test_each_member_keeps_its_best_epoch_on_its_fold():
    X, Y = _table()
    clf = small(bag_folds=3, max_epochs=12, patience=3).fit(X, Y)
    for history in clf.bag_histories_:
        scores = [row["valid_acc"] for row in history]
        best = int(np.argmax(scores))
        assert len(history) <= 12
        # stopped patience epochs after the best, or at the budget
        assert len(history) == 12 or len(history) == best + 1 + 3
    chosen = [best_epochs(h, "valid_acc", False) for h in clf.bag_histories_]
    assert clf.max_epochs_ == int(np.median(chosen))


def test_a_bag_repeats_with_its_random_state_and_not_without():
    X, Y = _table()
    one = small().fit(X, Y).predict_proba(X)["a"]
    again = small().fit(X, Y).predict_proba(X)["a"]
    other = small(random_state=1).fit(X, Y).predict_proba(X)["a"]
    np.testing.assert_array_equal(one, again)
    assert not np.allclose(one, other)


def test_the_folds_cut_the_rows_once_each_and_keep_the_class_shares():
    codes = np.repeat([0, 1, 2], [60, 30, 30]).astype(float)[:, None]
    data = Dataset(np.zeros((120, 2), dtype=np.float32), codes)
    seen = []
    for fold in range(4):
        train, valid = BagFoldSplit(4, fold, random_state=0)(data, codes)
        assert sorted([*train.indices, *valid.indices]) == list(range(120))
        shares = np.bincount(codes[valid.indices, 0].astype(int), minlength=3) / len(valid.indices)
        np.testing.assert_allclose(shares, [0.5, 0.25, 0.25], atol=0.04)
        seen.extend(valid.indices)
    assert sorted(seen) == list(range(120))


def test_more_folds_than_labelled_rows_are_refused():
    # each network would see every row and none would stop: refused, as
    # KFold refuses more splits than samples, and forgotten like a failed fit
    X, Y = _table()
    clf = small(bag_folds=3).fit(X, Y)
    msg = (
        "bag_folds holds out each of 10 folds in turn, so it needs at least 10 labelled "
        "rows; Y has 6. Set bag_folds to at most 6, or bag_folds=None to train one network."
    )
    rows = np.r_[np.flatnonzero(Y["a"] == "yes")[:3], np.flatnonzero(Y["a"] == "no")[:3]]
    with pytest.raises(ValueError, match=exactly(msg)):
        clf.set_params(bag_folds=10).fit(X[rows], Y.iloc[rows])
    with pytest.raises(NotFittedError):
        clf.predict(X)
    # rows without any label do not count
    y = Y.where(np.repeat(np.isin(np.arange(len(Y)), rows[[0, 1, 3, 4]])[:, None], 2, axis=1))
    dropped = pytest.warns(UserWarning, match=r"Dropped 296 row\(s\) of Y that have no label")
    with dropped, pytest.raises(ValueError, match="needs at least 5 labelled rows; Y has 4"):
        small(bag_folds=5).fit(X, y)
    # "auto" counts the labelled rows: too few for a fold each, one network
    with dropped:
        assert type(small().fit(X, y).module_) is MultiTaskModule


def test_an_explicit_bag_refuses_a_train_split():
    X, Y = _table()
    clf = small(bag_folds=3, train_split=MultiTaskValidSplit(0.2))
    message = (
        "bag_folds=3 holds out each fold in turn, so it takes no train_split; got "
        "train_split=MultiTaskValidSplit(cv=0.2, stratified=True, random_state=None). "
        "Leave train_split='auto', or set bag_folds=None to train one network on your split."
    )
    with pytest.raises(ValueError, match=exactly(message)):
        clf.fit(X, Y)


def test_auto_leaves_an_explicit_recipe_to_one_network():
    X, Y = _table()
    for params in ({"max_epochs": 3}, {"early_stopping": True}, {"train_split": None}):
        assert type(small(**params).fit(X, Y).module_) is MultiTaskModule, params


@pytest.mark.parametrize("bag_folds", [1, 0, "all", 2.5])
def test_a_bad_bag_folds_is_refused(bag_folds):
    X, Y = _table()
    with pytest.raises(ValueError, match="'bag_folds' parameter"):
        small(bag_folds=bag_folds).fit(X, Y)


def test_a_bag_round_trips_through_pickle_and_the_model_file(tmp_path):
    X, Y = _table()
    clf = small().fit(X, Y)
    expected = clf.predict_proba(X)
    path = tmp_path / "bag.skmtl"
    skmtl.save(clf, path)
    for copy in (pickle.loads(pickle.dumps(clf)), skmtl.load(path)):
        assert copy.bag_size_ == 5 and type(copy.module_) is BaggedModule
        for task in expected:
            np.testing.assert_array_equal(copy.predict_proba(X)[task], expected[task])


def test_partial_fit_trains_every_member():
    X, Y = _table()
    clf = small(bag_folds=3).fit(X, Y)
    before = [m.heads[0].weight.detach().clone() for m in clf.module_.members]
    epochs = len(clf.history)
    clf.set_params(max_epochs=2).partial_fit(X, Y)
    after = [m.heads[0].weight for m in clf.module_.members]
    assert all(not torch.equal(b, a) for b, a in zip(before, after, strict=True))
    assert clf.bag_size_ == 3 and type(clf.module_) is BaggedModule
    assert len(clf.history) == epochs + 2


def test_training_after_a_bag_uses_dropout_in_every_member_whatever_came_before(tmp_path):
    # the members come from their runs in eval mode; a partial_fit right after
    # the fit, after a predict, or on the loaded model trains them alike
    X, Y = _table()
    fits = [small(bag_folds=3, dropout=0.3).fit(X, Y) for _ in range(2)]
    fits[1].predict(X[:1])
    path = tmp_path / "bag.skmtl"
    skmtl.save(fits[0], path)
    fits.append(skmtl.load(path))
    seen = []
    for clf in fits:
        hook = clf.module_.members[0].trunk.register_forward_hook(
            lambda module, args, out: seen.append(module.training)
        )
        clf.set_params(max_epochs=1).partial_fit(X, Y)
        hook.remove()
    assert seen and all(seen)
    proba = [clf.predict_proba(X)["a"] for clf in fits]
    np.testing.assert_array_equal(proba[0], proba[1])
    np.testing.assert_array_equal(proba[0], proba[2])


def test_a_regressor_bag_predicts_the_members_mean():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3)).astype(np.float32)
    Y = pd.DataFrame({"u": X[:, 0] * 2 + rng.normal(size=200), "v": X[:, 1] - X[:, 2]})
    reg = MultiTaskRegressor(hidden_units=(16,), patience=3, random_state=0).fit(X, Y)
    assert reg.bag_size_ == 5
    Xt = torch.as_tensor(reg.feature_scaler_.transform(X), dtype=torch.float32)
    with torch.no_grad():
        outs = [member.eval()(Xt) for member in reg.module_.members]
    enc = reg.target_encoder_
    for t, task in enumerate(reg.tasks_):
        mean = np.mean([o[t][:, 0].numpy() for o in outs], axis=0)
        expected = mean * enc.scale_[task] + enc.center_[task]
        np.testing.assert_allclose(reg.predict(X)[task], expected, rtol=1e-4, atol=1e-4)


def test_a_bag_exports_to_onnx_with_its_mean_probability():
    ort = pytest.importorskip("onnxruntime")
    X, Y = _table()
    clf = small(bag_folds=3).fit(X, Y)
    session = ort.InferenceSession(skmtl.to_onnx(clf).SerializeToString())
    outputs = dict(
        zip(
            [o.name for o in session.get_outputs()],
            session.run(None, {session.get_inputs()[0].name: X}),
            strict=True,
        )
    )
    for task, proba in clf.predict_proba(X).items():
        np.testing.assert_allclose(outputs[f"proba_{task}"], proba, atol=1e-5)


def test_groups_are_refused_with_the_fix():
    X, Y = _table()
    with pytest.raises(ValueError, match="bag_folds cuts the rows into folds without groups"):
        small(bag_folds=3).fit(X, Y, groups=np.arange(len(X)) % 4)


def test_the_bagged_module_gives_each_members_logits_in_training_and_their_mean_after():
    torch.manual_seed(0)
    members = [MultiTaskModule(torch.nn.Linear(4, 8), 8, [3, 1]) for _ in range(2)]
    bag = BaggedModule(members)
    X = torch.randn(5, 4)
    logits, value = bag.train()(X)
    assert logits.shape == (5, 2, 3) and value.shape == (5, 2, 1)
    torch.testing.assert_close(logits[:, 1], members[1](X)[0])
    proba, value = bag.eval()(X)
    mean = torch.stack([torch.softmax(m(X)[0], dim=-1) for m in members]).mean(0)
    torch.testing.assert_close(torch.softmax(proba, dim=-1), mean)
    torch.testing.assert_close(value, torch.stack([m(X)[1] for m in members]).mean(0))
    torch.testing.assert_close(bag(X)[0], bag.forward_tasks(bag.forward_shared(X), X)[0])


# ------------------------------------------------------------ from review


def test_warm_start_builds_each_network_anew():
    X, Y = _table()
    clf = small(bag_folds=3, warm_start=True).fit(X, Y)
    members = _member_probabilities(clf, X)
    assert clf.bag_size_ == 3 and not np.allclose(members[0][0], members[1][0], atol=1e-3)
    epochs = len(clf.history)
    clf.set_params(max_epochs=2).fit(X, Y)  # a warm fit trains the bag on
    assert clf.bag_size_ == 3 and len(clf.history) == epochs + 2


def test_a_fit_after_a_bag_seeds_as_a_fresh_fit():
    X, Y = _table()
    clf = small(bag_folds=3).fit(X, Y)
    clf.set_params(bag_folds=None, max_epochs=3).fit(X, Y)
    fresh = small(bag_folds=None, max_epochs=3).fit(X, Y)
    for task, proba in fresh.predict_proba(X).items():
        np.testing.assert_array_equal(clf.predict_proba(X)[task], proba)


def test_a_refused_bag_leaves_no_fitted_model():
    X, Y = _table()
    clf = small(bag_folds=None, max_epochs=2).fit(X, Y)
    clf.set_params(bag_folds=2, train_split=MultiTaskValidSplit(0.2))
    with pytest.raises(ValueError, match="holds out each fold in turn"):
        clf.fit(X, Y)
    with pytest.raises(NotFittedError):
        clf.predict(X)


def test_a_checkpoint_is_refused_with_the_fix(tmp_path):
    X, Y = _table()
    clf = small(bag_folds=2, callbacks=[Checkpoint(dirname=str(tmp_path))])
    message = (
        "bag_folds=2 trains its networks one after another, and a Checkpoint or "
        "LoadInitState callback would save or load one of them. Set bag_folds=None to "
        "checkpoint one network, or save the fitted bag with skmtl.save."
    )
    with pytest.raises(ValueError, match=exactly(message)):
        clf.fit(X, Y)


def test_a_first_partial_fit_refuses_an_explicit_bag():
    X, Y = _table()
    message = (
        "bag_folds=3 bags in fit; partial_fit trains the network it builds on its first "
        "call, one network. Call fit first (partial_fit then trains every network of the "
        "bag), or set bag_folds=None."
    )
    with pytest.raises(ValueError, match=exactly(message)):
        small(bag_folds=3).partial_fit(X, Y)
    assert type(small().partial_fit(X, Y).module_) is MultiTaskModule  # "auto": one


def test_a_diverged_network_is_named_in_stopped_reason():
    X, Y = _table()
    clf = small(bag_folds=2, lr=1e6, max_epochs=5, numeric_embedding=None)
    with pytest.warns(DivergenceWarning):
        clf.fit(X, Y)
    assert clf.stopped_reason_.startswith("network 0 of the bag: Training diverged in epoch")


def test_the_networks_of_a_bag_share_one_scaling(monkeypatch):
    # beyond the quantile scaler's sample of 10,000 rows, each seed draws its own
    import skmtl.estimators._base as base

    seeds = []
    original = base.make_feature_scaler

    def spy(kind, n_rows, random_state):
        seeds.append(random_state)
        return original(kind, n_rows, random_state)

    monkeypatch.setattr(base, "make_feature_scaler", spy)
    rng = np.random.default_rng(0)
    X = rng.lognormal(size=(12_000, 2)).astype(np.float32)
    Y = {"a": X[:, 0] > 1.0}
    MultiTaskClassifier(hidden_units=(4,), bag_folds=2, max_epochs=1).fit(X, Y)
    assert len(seeds) == 2 and seeds[0] == seeds[1] and seeds[0] is not None
