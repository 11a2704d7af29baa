"""The default training recipe: feature scaling, the piecewise-linear (or
periodic) embedding, a fixed epoch budget with a linear decay, early stopping
that restores the best epoch (an option), weight decay, and the width, batch
size and epochs that follow the data; each one a parameter that can be set."""

import numpy as np
import pytest
import torch
from scipy import stats
from sklearn.base import clone
from sklearn.preprocessing import QuantileTransformer, RobustScaler, StandardScaler
from skorch.callbacks import Callback, LRScheduler
from skorch.dataset import Dataset
from skorch.helper import predefined_split
from support import StopAfter, make_clf, make_tasks

from skmtl import MultiTaskClassifier, MultiTaskRegressor, MultiTaskValidSplit
from skmtl.data import TabularQuantileTransformer
from skmtl.nn import PeriodicEmbedding, PiecewiseLinearEmbedding
from skmtl.training import best_epochs, epoch_budget
from skmtl.training._recipe import auto_batch_size, auto_hidden_units


def skewed_tasks(n=600, seed=0):
    """Features on wildly different, skewed scales; labels from their ranks."""
    rng = np.random.default_rng(seed)
    X = np.column_stack(
        [rng.lognormal(3, 2, n), rng.normal(size=n) * 1e4, rng.integers(0, 2, n)]
    ).astype(float)
    Y = {"a": (np.log(X[:, 0]) > 3).astype(int), "b": X[:, 1] > 0}
    return X, Y


@pytest.mark.parametrize(
    "kind, cls",
    [
        ("quantile", TabularQuantileTransformer),
        ("standard", StandardScaler),
        ("robust", RobustScaler),
    ],
)
def test_feature_scaling_fits_the_named_scaler(kind, cls):
    X, Y = skewed_tasks()
    clf = make_clf(feature_scaling=kind).fit(X, Y)
    assert type(clf.feature_scaler_) is cls
    assert clf.feature_scaler_.n_features_in_ == 3


def test_quantile_scaling_gives_the_network_normal_features():
    X, Y = skewed_tasks(n=3000)
    clf = make_clf(max_epochs=0).fit(X, Y)
    seen = clf.get_dataset(X).X.numpy()
    assert seen.dtype == np.float32
    # the lognormal column arrives as a standard normal
    assert stats.kstest(seen[:, 0], "norm").statistic < 0.03
    assert abs(seen[:, 0].mean()) < 0.05 and abs(seen[:, 0].std() - 1) < 0.05


def test_quantile_scaling_leaves_0_1_columns_as_they_are():
    X, Y = skewed_tasks()  # column 2 is 0/1
    clf = make_clf(max_epochs=0).fit(X, Y)
    seen = clf.get_dataset(X).X.numpy()
    np.testing.assert_array_equal(seen[:, 2], X[:, 2])
    assert clf.feature_scaler_.passthrough_.tolist() == [False, False, True]
    # the other columns are scaled exactly as scikit-learn's transformer does
    plain = QuantileTransformer(**clf.feature_scaler_.get_params()).fit(X)
    np.testing.assert_allclose(seen[:, :2], plain.transform(X)[:, :2], atol=1e-5)


def test_feature_scaling_none_passes_features_unchanged():
    X, Y = skewed_tasks()
    clf = make_clf(feature_scaling=None, max_epochs=0).fit(X, Y)
    assert clf.feature_scaler_ is None
    np.testing.assert_array_equal(clf.get_dataset(X).X.numpy(), X.astype(np.float32))


def test_scaling_applies_in_predict_and_forward_alike():
    X, Y = skewed_tasks()
    clf = make_clf().fit(X, Y)
    logits = [out.argmax(1).numpy() for out in clf.forward(X)]
    np.testing.assert_array_equal(logits[0], clf.target_encoder_.transform(clf.predict(X))[:, 0])


def test_scaler_is_fitted_once_not_on_warm_refits():
    X, Y = skewed_tasks()
    clf = make_clf(warm_start=True).fit(X, Y)
    first = clf.feature_scaler_
    clf.fit(X * 10, Y)
    assert clf.feature_scaler_ is first


def test_bad_feature_scaling_names_the_choices():
    X, Y = skewed_tasks()
    with pytest.raises(
        ValueError, match=r"'feature_scaling' .* one of \['auto', 'maxabs', 'quantile'"
    ):
        make_clf(feature_scaling="minmax").fit(X, Y)


# ---------------------------------------------------------------- embeddings


def test_default_embedding_is_piecewise_linear_on_columns_with_more_than_two_values():
    X, Y = skewed_tasks()  # column 2 is 0/1
    clf = make_clf().fit(X, Y)
    assert clf.embedded_columns_ == [0, 1]
    embedding = clf.module_.trunk.layers[0]
    assert isinstance(embedding, PiecewiseLinearEmbedding)
    assert embedding.out_features == 2 * 16 + 1
    assert len(clf.embedding_bins_) == 2


def test_bins_are_quantiles_of_the_scaled_training_column():
    X, Y = skewed_tasks(n=2000)
    clf = make_clf(max_epochs=0, n_bins=8).fit(X, Y)
    scaled = clf.feature_scaler_.transform(X)[:, 0].astype(np.float32)
    edges = np.asarray(clf.embedding_bins_[0])
    assert len(edges) == 9 and np.all(np.diff(edges) > 0)
    np.testing.assert_allclose(edges, np.quantile(scaled, np.linspace(0, 1, 9)), atol=1e-4)
    # a small table gets at most one bin per two rows
    small = make_clf(max_epochs=0, numeric_embedding="piecewise_linear")
    small.fit(X[:30], {k: v[:30] for k, v in Y.items()})
    assert max(len(e) for e in small.embedding_bins_) <= 30 // 2 + 1


def test_auto_embeds_only_tables_of_500_rows_or_more():
    X, Y = skewed_tasks(n=499)
    assert make_clf(max_epochs=0).fit(X, Y).embedded_columns_ is None
    X, Y = skewed_tasks(n=500)
    assert make_clf(max_epochs=0).fit(X, Y).embedded_columns_ == [0, 1]
    # an explicit request embeds at any size
    X, Y = skewed_tasks(n=100)
    explicit = make_clf(max_epochs=0, numeric_embedding="piecewise_linear").fit(X, Y)
    assert explicit.embedded_columns_ == [0, 1]


def test_periodic_embedding_is_an_option():
    X, Y = skewed_tasks()
    clf = make_clf(numeric_embedding="periodic").fit(X, Y)
    embedding = clf.module_.trunk.layers[0]
    assert isinstance(embedding, PeriodicEmbedding) and clf.embedding_bins_ is None
    assert embedding.out_features == 2 * 16 + 1


def test_piecewise_linear_embedding_passes_other_columns_through():
    bins = [[-1.0, 0.0, 1.0], [-2.0, 0.0, 0.5, 2.0]]
    emb = PiecewiseLinearEmbedding(4, bins, columns=[0, 2], dim=5)
    X = torch.randn(7, 4)
    out = emb(X)
    assert out.shape == (7, 2 * 5 + 2)
    torch.testing.assert_close(out[:, -2:], X[:, [1, 3]])
    X2 = X.clone()
    X2[:, 2] += 1  # each embedded value depends on its own column only
    torch.testing.assert_close(emb(X2)[:, :5], out[:, :5])


def test_periodic_embedding_passes_other_columns_through():
    emb = PeriodicEmbedding(4, columns=[0, 2], n_frequencies=3, dim=5)
    X = torch.randn(7, 4)
    out = emb(X)
    assert out.shape == (7, 2 * 5 + 2)
    torch.testing.assert_close(out[:, -2:], X[:, [1, 3]])
    # each embedded value depends on its own column only
    X2 = X.clone()
    X2[:, 2] += 1
    torch.testing.assert_close(emb(X2)[:, :5], out[:, :5])


def test_numeric_embedding_none_feeds_features_to_the_first_layer():
    X, Y = skewed_tasks()
    clf = make_clf(numeric_embedding=None).fit(X, Y)
    first = clf.module_.trunk.layers[0]
    assert isinstance(first, torch.nn.Linear) and first.in_features == 3


@pytest.mark.parametrize("arch", ["mmoe", "ple"])
def test_experts_get_the_embedding_too(arch):
    X, Y = skewed_tasks()
    clf = make_clf(architecture=arch).fit(X, Y)
    assert any(isinstance(m, PiecewiseLinearEmbedding) for m in clf.module_.modules())


def test_bad_numeric_embedding_names_the_choices():
    X, Y = skewed_tasks()
    with pytest.raises(
        ValueError,
        match=r"'numeric_embedding' .* 'piecewise_linear'\] or None. Got 'fourier'",
    ):
        make_clf(numeric_embedding="fourier").fit(X, Y)


# ------------------------------------------------------------ early stopping


def _noisy(n=600, seed=0):
    # one learnable task and one of pure noise: validation stalls early
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 5))
    return X, {"signal": (X[:, 0] > 0).astype(int), "noise": rng.integers(0, 3, n)}


def test_early_stopping_stops_and_restores_the_best_epoch():
    X, Y = _noisy()
    X_valid, Y_valid = _noisy(n=300, seed=1)
    clf = make_clf(
        hidden_units=(64, 64),
        lr=0.05,
        max_epochs=200,
        patience=3,
        lr_schedule=None,
        early_stopping=True,
        train_split=predefined_split(Dataset(X_valid, Y_valid)),
    ).fit(X, Y)
    scores = clf.history[:, "valid_acc"]
    best = int(np.argmax(scores))
    # stopped `patience` epochs after the best one (skorch's EarlyStopping)
    assert len(clf.history) == best + 1 + 3 < 200
    # the weights in place are the best epoch's, not the last one's
    assert clf.score(X_valid, Y_valid) == pytest.approx(scores[best])
    assert scores[-1] != scores[best]


def test_fit_with_zero_epochs_still_builds_the_network():
    X, Y = _noisy()
    clf = make_clf(max_epochs=0).fit(X, Y)
    assert clf.initialized_ and len(clf.history) == 0


def monitor(net) -> tuple[str, bool]:
    """What the recipe of a fit with ``net``'s parameters watches."""
    recipe = net._recipe()
    return recipe.monitor, recipe.lower_is_better


def test_classifier_watches_valid_acc_and_regressor_valid_loss():
    clf = MultiTaskClassifier(early_stopping=True)
    reg = MultiTaskRegressor(early_stopping=True)
    assert monitor(clf) == ("valid_acc", False)
    assert monitor(reg) == ("valid_loss", True)
    # the default has no validation split: the plateau schedule would watch the training loss
    assert monitor(MultiTaskClassifier()) == ("train_loss", True)
    assert monitor(MultiTaskClassifier(early_stopping="valid_loss_a")) == (
        "valid_loss_a",
        True,
    )


def test_early_stopping_can_watch_one_task():
    X, Y = _noisy()
    clf = make_clf(max_epochs=200, patience=2, early_stopping="valid_acc_signal")
    clf.fit(X, Y)
    stopper = dict(clf.callbacks_)["early_stopping"]
    assert stopper.monitor == "valid_acc_signal" and not stopper.lower_is_better
    assert len(clf.history) < 200


def test_early_stopping_off_trains_all_epochs():
    X, Y = _noisy()
    clf = make_clf(max_epochs=12, early_stopping=False).fit(X, Y)
    assert len(clf.history) == 12
    assert "early_stopping" not in dict(clf.callbacks_)


def test_no_validation_split_means_no_early_stopping():
    X, Y = _noisy()
    clf = make_clf(max_epochs=12, train_split=None, early_stopping=True, lr_schedule="plateau")
    clf.fit(X, Y)
    assert len(clf.history) == 12
    assert "early_stopping" not in dict(clf.callbacks_)
    assert dict(clf.callbacks_)["lr_scheduler"].monitor == "train_loss"


@pytest.mark.parametrize(
    "params, message",
    [
        ({"patience": 0}, r"'patience' parameter .* range \[1, inf\) or 'auto'. Got 0"),
        ({"patience": "long"}, r"The 'patience' parameter .* or 'auto'. Got 'long'"),
        ({"lr_schedule": "step"}, r"'lr_schedule' .* \['cosine', 'linear', 'plateau'\] or None"),
        ({"early_stopping": 3}, "'early_stopping' parameter .* must be a bool or a str. Got 3"),
    ],
)
def test_bad_recipe_parameters_are_refused_in_fit(params, message):
    X, Y = _noisy()
    clf = make_clf(**params)  # set_params/init never raise (scikit-learn's rule)
    with pytest.raises(ValueError, match=message):
        clf.fit(X, Y)
    assert not clf.initialized_


# --------------------------------------------------------------- LR schedule


def test_plateau_schedule_cuts_the_learning_rate():
    X, Y = _noisy()
    clf = make_clf(lr=0.05, max_epochs=40, patience=6, lr_schedule="plateau").fit(X, Y)
    scheduler = dict(clf.callbacks_)["lr_scheduler"]
    assert isinstance(scheduler, LRScheduler) and scheduler.policy == "ReduceLROnPlateau"
    assert scheduler.kwargs["patience"] == 2
    lrs = [group["lr"] for group in clf.optimizer_.param_groups]
    assert lrs[0] == pytest.approx(0.05 * 0.2 ** round(np.log(lrs[0] / 0.05) / np.log(0.2)))
    assert lrs[0] < 0.05


def test_linear_schedule_is_the_default_and_decays_to_zero():
    X, Y = _noisy()
    clf = make_clf(lr=0.1, max_epochs=5).fit(X, Y)
    # epoch k of T trains at lr * (1 - k / T)
    np.testing.assert_allclose(clf.history[:, "event_lr"], [0.1 * (1 - k / 5) for k in range(5)])
    clf.set_params(warm_start=True, max_epochs=2).fit(X, Y)  # after a finished decay: anew
    np.testing.assert_allclose(clf.history[-2:, "event_lr"], [0.1, 0.05])


def test_cosine_schedule_follows_the_formula():
    X, Y = _noisy()
    clf = make_clf(lr=0.1, max_epochs=8, lr_schedule="cosine").fit(X, Y)
    # epoch k of T trains at lr * (1 + cos(pi k / T)) / 2
    expected = [0.05 * (1 + np.cos(np.pi * k / 8)) for k in range(8)]
    np.testing.assert_allclose(clf.history[:, "event_lr"], expected)


def test_a_resumed_fit_takes_up_the_decay_where_it_stopped():
    X, Y = _noisy()
    full = make_clf(lr=0.1, max_epochs=6).fit(X, Y)
    part = make_clf(lr=0.1, max_epochs=6, callbacks=[("stop", StopAfter(3))]).fit(X, Y)
    assert len(part.history) == 3
    part.set_params(max_epochs=3, warm_start=True).fit(X, Y)
    np.testing.assert_allclose(part.history[:, "event_lr"], full.history[:, "event_lr"])


def test_auto_split_holds_out_rows_only_for_early_stopping():
    X, Y = _noisy()
    clf = MultiTaskClassifier(hidden_units=(8,), max_epochs=2, random_state=0).fit(X, Y)
    assert clf.train_split == "auto" and "valid_loss" not in clf.history[-1]
    assert clf.history[-1, "train_batch_count"] == int(np.ceil(600 / 64))
    stopped = clf.set_params(early_stopping=True).fit(X, Y)
    assert stopped.history[-1, "train_batch_count"] == int(np.ceil(480 / 64))
    assert "valid_acc" in stopped.history[-1]
    # an explicit split is used with or without early stopping
    split = clf.set_params(early_stopping=False, train_split=MultiTaskValidSplit(0.5)).fit(X, Y)
    assert split.history[-1, "train_batch_count"] == int(np.ceil(300 / 32))


def test_fit_chooses_torch_threads_and_restores_the_callers():
    X, Y = _noisy()
    seen = []

    class Threads(Callback):
        def on_epoch_begin(self, net, **kwargs):
            seen.append(torch.get_num_threads())

    before = torch.get_num_threads()
    make_clf(max_epochs=1, n_threads=1, callbacks=[("t", Threads())]).fit(X, Y)
    assert seen == [1] and torch.get_num_threads() == before
    make_clf(max_epochs=1, n_threads=None, callbacks=[("t", Threads())]).fit(X, Y)
    assert seen[-1] == before


def test_no_schedule_keeps_the_rate():
    X, Y = _noisy()
    clf = make_clf(lr=0.03, max_epochs=10, lr_schedule=None, early_stopping=False).fit(X, Y)
    assert "lr_scheduler" not in dict(clf.callbacks_)
    assert clf.optimizer_.param_groups[0]["lr"] == 0.03


# -------------------------------------------------------------- weight decay


def test_default_optimizer_is_adamw_with_weight_decay():
    X, Y = make_tasks()
    clf = make_clf().fit(X, Y)
    assert type(clf.optimizer_) is torch.optim.AdamW
    assert clf.optimizer_.param_groups[0]["weight_decay"] == 1e-4


def test_optimizer_weight_decay_wins_over_weight_decay():
    X, Y = make_tasks()
    clf = make_clf(weight_decay=0.1, optimizer__weight_decay=0.5).fit(X, Y)
    assert clf.optimizer_.param_groups[0]["weight_decay"] == 0.5


def test_weight_decay_needs_an_optimizer_that_takes_it():
    class NoDecay(torch.optim.SGD):
        def __init__(self, params, lr):
            super().__init__(params, lr=lr)

    X, Y = make_tasks()
    with pytest.raises(ValueError, match="needs an optimizer that takes weight_decay"):
        make_clf(optimizer=NoDecay).fit(X, Y)
    assert make_clf(optimizer=NoDecay, weight_decay=0).fit(X, Y).initialized_


# ---------------------------------------------------------------- batch size


@pytest.mark.parametrize(
    "n, size",
    [(50, 16), (160, 16), (320, 32), (700, 64), (1000, 128), (2560, 256), (10**6, 256)],
)
def test_auto_batch_size(n, size):
    assert auto_batch_size(n) == size


@pytest.mark.parametrize("n, epochs", [(300, 40), (30_000, 40), (60_000, 20), (10**7, 8)])
def test_epoch_budget(n, epochs):
    assert epoch_budget(n) == epochs


@pytest.mark.parametrize(
    "n, units", [(300, (256,) * 3), (50_000, (256,) * 3), (50_001, (512,) * 3)]
)
def test_auto_hidden_units(n, units):
    assert auto_hidden_units(n) == units


def test_auto_sizes_follow_the_training_rows():
    X, Y = make_tasks(n=400)
    clf = MultiTaskClassifier(random_state=0, max_epochs=7).fit(X, Y)
    assert clf.hidden_units_ == (256, 256, 256) and clf.max_epochs_ == 7
    assert len(clf.history) == 7
    widths = [m.out_features for m in clf.module_.trunk.layers if isinstance(m, torch.nn.Linear)]
    assert widths == [256] * 3
    clf.set_params(max_epochs=3, hidden_units=(8,)).fit(X, Y)
    assert clf.max_epochs_ == 3 and len(clf.history) == 3 and clf.hidden_units_ == (8,)


# ------------------------------------------------------- chosen epoch count


def test_auto_epochs_select_on_a_split_then_refit_on_every_row():
    X, Y = _noisy()
    clf = MultiTaskClassifier(hidden_units=(32,), patience=3, random_state=0, bag_folds=None).fit(
        X, Y
    )
    selection = clf.selection_history_
    # the selection run trained on 80%, watched valid_acc, stopped 3 epochs after the best
    assert selection[0, "train_batch_count"] == int(np.ceil(480 / 64))
    scores = selection[:, "valid_acc"]
    assert len(selection) == min(int(np.argmax(scores)) + 1 + 3, 40)
    best = best_epochs(selection, "valid_acc", False)
    assert scores[best - 1] == max(scores) and clf.max_epochs_ == best
    # the final network trained on every row for exactly that many epochs
    assert len(clf.history) == best and "valid_acc" not in clf.history[-1]
    assert clf.history[0, "train_batch_count"] == int(np.ceil(600 / 64))
    assert clf.history[-1, "lr_plan"] == [0, best]


def test_a_noisy_task_stops_sooner_than_a_clean_one():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 5))
    clean = {"a": X[:, 0] * X[:, 1] > 0, "b": X[:, 2] + X[:, 3] ** 2 > 1}
    noisy = {"a": rng.integers(0, 2, 600), "b": rng.integers(0, 3, 600)}
    fit = {
        name: MultiTaskClassifier(hidden_units=(64,), random_state=0).fit(X, Y)
        for name, Y in (("clean", clean), ("noisy", noisy))
    }
    assert fit["noisy"].max_epochs_ < fit["clean"].max_epochs_


@pytest.mark.parametrize(
    "params",
    [{"max_epochs": 5}, {"early_stopping": True}, {"train_split": None}],
)
def test_explicit_settings_train_one_network(params):
    X, Y = _noisy()
    clf = MultiTaskClassifier(hidden_units=(8,), random_state=0, **params).fit(X, Y)
    assert not hasattr(clf, "selection_history_")


def test_best_epochs_reads_the_history():
    history = [{"valid_acc": 0.5}, {"valid_acc": 0.7}, {"valid_acc": 0.7}, {"valid_acc": 0.6}]
    assert best_epochs(history, "valid_acc", False) == 2  # the first of equal bests
    assert best_epochs(history, "valid_acc", True) == 1
    assert best_epochs([{}, {}], "valid_acc", False) == 2  # nothing watched: all epochs
    tied = [{"valid_acc": 0.7, "valid_loss": 0.5}, {"valid_acc": 0.7, "valid_loss": 0.4}]
    assert best_epochs(tied, "valid_acc", False) == 2  # equal accuracy: the lower loss


def test_auto_batch_size_sets_the_steps_per_epoch():
    X, Y = make_tasks(n=400)
    clf = make_clf(batch_size="auto", max_epochs=1, train_split=None).fit(X, Y)
    assert clf.history[-1, "train_batch_count"] == int(np.ceil(400 / 32))


def test_auto_batch_size_on_skorchs_own_data_path():
    X, Y = make_tasks(n=400)
    clf = make_clf(batch_size="auto", max_epochs=1, train_split=None, data_on_device=False)
    clf.fit(X, Y)
    assert clf.history[-1, "train_batch_count"] == int(np.ceil(400 / 32))


# ------------------------------------------------------------- grid search


def test_every_recipe_choice_is_a_parameter_gridsearch_can_set():
    names = [
        "feature_scaling",
        "numeric_embedding",
        "early_stopping",
        "patience",
        "lr_schedule",
        "weight_decay",
        "norm",
        "batch_size",
    ]
    clf = MultiTaskClassifier()
    params = clf.get_params()
    assert all(name in params for name in names)
    changed = clone(clf).set_params(
        feature_scaling=None, numeric_embedding=None, patience=3, norm="layer"
    )
    assert changed.get_params()["patience"] == 3 and changed.norm == "layer"


def test_auto_patience_halves_beyond_five_thousand_rows():
    from skmtl.training._epochs import auto_patience
    from skmtl.training._recipe import DataSummary, plan

    assert [auto_patience(n) for n in (10, 5_000, 5_001, 1_000_000)] == [10, 10, 5, 5]
    params = MultiTaskClassifier().get_params(deep=False)
    assert params["patience"] == "auto"

    def summary(rows):
        return DataSummary(rows, rows, "tabular", (rows, 3))

    assert plan(params, summary(5_000), phase=("select", 0)).patience == 10
    assert plan(params, summary(6_000), phase=("select", 0)).patience == 5
    assert plan({**params, "patience": 7}, summary(6_000)).patience == 7
    assert plan({**params, "patience": np.int64(7)}, summary(6_000)).patience == 7
    assert plan(params).patience == 10  # callbacks built outside fit: the longest


def test_a_fit_waits_its_patience():
    X, Y = _noisy()
    clf = MultiTaskClassifier(hidden_units=(8,), max_epochs=40, early_stopping=True, random_state=0)
    clf.fit(X, Y)
    assert clf.recipe_.patience == 10 and dict(clf.callbacks_)["early_stopping"].patience == 10
    clf.set_params(patience=3).fit(X, Y)
    assert dict(clf.callbacks_)["early_stopping"].patience == 3
    best = int(np.argmax(clf.history[:, "valid_acc"]))
    assert len(clf.history) <= best + 1 + 3


def test_patience_set_after_a_fit_reaches_the_rebuilt_callbacks():
    X, Y = _noisy()
    clf = MultiTaskClassifier(hidden_units=(8,), max_epochs=3, early_stopping=True, random_state=0)
    clf.fit(X, Y)
    clf.set_params(patience=3, callbacks__print_log__keys_ignored=None)
    assert dict(clf.callbacks_)["early_stopping"].patience == 3


def test_a_recipe_from_before_auto_patience_still_builds_callbacks():
    import dataclasses

    from skmtl.training._recipe import Recipe, recipe_callbacks

    X, Y = _noisy()
    clf = MultiTaskClassifier(hidden_units=(8,), max_epochs=2, early_stopping=True, random_state=0)
    clf.fit(X, Y)
    fields = {f.name: getattr(clf.recipe_, f.name) for f in dataclasses.fields(Recipe)}
    old = type("Recipe", (), {k: v for k, v in fields.items() if k != "patience"})()
    callbacks = dict(recipe_callbacks(clf.get_params(deep=False), old))
    assert callbacks["early_stopping"].patience == 10
