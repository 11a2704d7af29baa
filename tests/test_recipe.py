"""The default training recipe: feature scaling, periodic embeddings, early
stopping that restores the best epoch, the LR schedule, weight decay and the
automatic batch size; each one a parameter that can be turned off."""

import numpy as np
import pytest
import torch
from conftest import make_clf, make_tasks
from scipy import stats
from sklearn.base import clone
from sklearn.preprocessing import QuantileTransformer, RobustScaler, StandardScaler
from skorch.callbacks import LRScheduler
from skorch.dataset import Dataset
from skorch.helper import predefined_split

from skmtl import MultiTaskClassifier, MultiTaskRegressor
from skmtl.modules import PeriodicEmbedding
from skmtl.recipe import auto_batch_size, monitor


def skewed_tasks(n=400, seed=0):
    """Features on wildly different, skewed scales; labels from their ranks."""
    rng = np.random.default_rng(seed)
    X = np.column_stack(
        [rng.lognormal(3, 2, n), rng.normal(size=n) * 1e4, rng.integers(0, 2, n)]
    ).astype(float)
    Y = {"a": (np.log(X[:, 0]) > 3).astype(int), "b": X[:, 1] > 0}
    return X, Y


@pytest.mark.parametrize(
    "kind, cls",
    [("quantile", QuantileTransformer), ("standard", StandardScaler), ("robust", RobustScaler)],
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


def test_periodic_embedding_embeds_only_columns_with_more_than_two_values():
    X, Y = skewed_tasks()  # column 2 is 0/1
    clf = make_clf().fit(X, Y)
    assert clf.embedded_columns_ == [0, 1]
    embedding = clf.module_.trunk.layers[0]
    assert isinstance(embedding, PeriodicEmbedding)
    assert embedding.out_features == 2 * 16 + 1


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
    assert any(isinstance(m, PeriodicEmbedding) for m in clf.module_.modules())


def test_bad_numeric_embedding_names_the_choices():
    X, Y = skewed_tasks()
    with pytest.raises(
        ValueError, match=r"'numeric_embedding' .* \['auto', 'periodic'\] or None. Got 'fourier'"
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


def test_classifier_watches_valid_acc_and_regressor_valid_loss():
    clf = MultiTaskClassifier()
    reg = MultiTaskRegressor()
    assert monitor(clf) == ("valid_acc", False)
    assert monitor(reg) == ("valid_loss", True)
    assert monitor(MultiTaskClassifier(early_stopping="valid_loss_a")) == (
        "valid_loss_a",
        True,
    )


def test_early_stopping_can_watch_one_task():
    X, Y = _noisy()
    clf = make_clf(max_epochs=200, patience=2, early_stopping="valid_acc_signal").fit(X, Y)
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
    clf = make_clf(max_epochs=12, train_split=None).fit(X, Y)
    assert len(clf.history) == 12
    assert "early_stopping" not in dict(clf.callbacks_)
    assert dict(clf.callbacks_)["lr_scheduler"].monitor == "train_loss"


@pytest.mark.parametrize(
    "params, message",
    [
        ({"patience": 0}, r"The 'patience' parameter .* an int in the range \[1, inf\). Got 0"),
        ({"lr_schedule": "step"}, r"'lr_schedule' .* one of \['cosine', 'plateau'\] or None"),
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
    clf = make_clf(lr=0.05, max_epochs=40, patience=6, early_stopping=False).fit(X, Y)
    scheduler = dict(clf.callbacks_)["lr_scheduler"]
    assert isinstance(scheduler, LRScheduler) and scheduler.policy == "ReduceLROnPlateau"
    assert scheduler.kwargs["patience"] == 2
    lrs = [group["lr"] for group in clf.optimizer_.param_groups]
    assert lrs[0] == pytest.approx(0.05 * 0.2 ** round(np.log(lrs[0] / 0.05) / np.log(0.2)))
    assert lrs[0] < 0.05


def test_cosine_schedule_follows_the_formula():
    X, Y = _noisy()
    clf = make_clf(lr=0.1, max_epochs=8, lr_schedule="cosine", early_stopping=False)
    clf.fit(X, Y)
    # after k of T epochs the rate is lr * (1 + cos(pi k / T)) / 2
    assert clf.optimizer_.param_groups[0]["lr"] == pytest.approx(0.0, abs=1e-12)
    clf.set_params(max_epochs=8)
    clf.partial_fit(X, Y)  # 8 more epochs: the cosine restarts its climb
    assert clf.optimizer_.param_groups[0]["lr"] > 0


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
    "n, size", [(50, 16), (160, 16), (320, 32), (1000, 64), (2560, 256), (10**6, 256)]
)
def test_auto_batch_size(n, size):
    assert auto_batch_size(n) == size


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
