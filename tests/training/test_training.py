"""The joint loss, missing labels, scoring, repeatability, inputs and trunks."""

import numpy as np
import pandas as pd
import pytest
import torch
from support import make_clf
from torch import nn

from skmtl import MultiTaskClassifier
from skmtl.nn import MLPTrunk


def _fitted(X, Y, **params):
    return make_clf(max_epochs=1, **params).fit(X, Y)


def test_loss_is_weighted_sum_of_masked_task_means(tasks_data):
    X, Y = tasks_data
    clf = _fitted(X, {"a": Y["binary"], "b": Y["colour"]}, task_weights={"b": 3.0})
    torch.manual_seed(0)
    logits_a, logits_b = torch.randn(6, 2), torch.randn(6, 3)
    y = torch.tensor([[0, 2], [1, -1], [-1, 0], [1, 1], [0, -1], [-1, -1]])
    expected_a = nn.functional.cross_entropy(logits_a[[0, 1, 3, 4]], y[[0, 1, 3, 4], 0])
    expected_b = nn.functional.cross_entropy(logits_b[[0, 2, 3]], y[[0, 2, 3], 1])
    loss = clf.get_loss((logits_a, logits_b), y)
    torch.testing.assert_close(loss, expected_a + 3.0 * expected_b)
    np.testing.assert_array_equal(clf.task_weights_, [1.0, 3.0])


def test_missing_label_row_trains_other_tasks_but_not_its_own(tasks_data):
    X, Y = tasks_data
    clf = _fitted(X, {"a": Y["binary"], "b": Y["colour"]})
    logits_a = torch.randn(3, 2, requires_grad=True)
    logits_b = torch.randn(3, 3, requires_grad=True)
    y = torch.tensor([[0, 1], [-1, 2], [1, 0]])  # row 1 misses task a
    clf.get_loss((logits_a, logits_b), y).backward()
    assert torch.all(logits_a.grad[1] == 0)
    assert torch.all(logits_a.grad[[0, 2]].abs().sum(dim=1) > 0)
    assert torch.all(logits_b.grad[1].abs() > 0)


def test_task_with_no_label_in_batch_adds_zero_not_nan(tasks_data):
    X, Y = tasks_data
    clf = _fitted(X, {"a": Y["binary"], "b": Y["colour"]})
    y = torch.tensor([[0, -1], [1, -1]])
    losses = clf.get_task_losses((torch.randn(2, 2), torch.randn(2, 3)), y)
    assert torch.isfinite(losses).all() and losses[1] == 0


def test_rows_without_any_label_are_dropped_with_warning(tasks_data):
    X, Y = tasks_data
    Y = {t: np.array(v, dtype=object) for t, v in Y.items()}
    for v in Y.values():
        v[:10] = None
    clf = make_clf(max_epochs=1, train_split=None, batch_size=1000)
    with pytest.warns(UserWarning, match=r"Dropped 10 row\(s\) of Y that have no label"):
        clf.fit(X, Y)
    assert clf.history[-1, "batches", 0, "train_batch_size"] == len(X) - 10


def test_missing_labels_train_and_score_only_labelled_rows(penguins):
    X, Y = penguins
    assert Y["sex"].isna().any()
    clf = make_clf(max_epochs=20).fit(X, Y)
    pred = clf.predict(X)
    labelled = Y["sex"].notna().to_numpy()
    expected_sex = np.mean(pred["sex"][labelled] == Y["sex"][labelled].to_numpy())
    scores = clf.score_tasks(X, Y)
    assert scores["sex"] == pytest.approx(expected_sex)
    assert scores["species"] == pytest.approx(np.mean(pred["species"] == Y["species"]))
    assert clf.score(X, Y) == pytest.approx(np.mean(list(scores.values())))
    # it learned: clearly above the majority-class rate on every task
    for task in clf.tasks_:
        majority = Y[task].value_counts(normalize=True).iloc[0]
        assert scores[task] > majority + 0.05, task


def test_score_accepts_subset_of_tasks_and_sample_weight(penguins):
    X, Y = penguins
    clf = make_clf().fit(X, Y)
    only = clf.score_tasks(X, Y[["island"]])
    assert list(only) == ["island"]
    w = np.where(Y["species"] == "Gentoo", 1.0, 0.0)
    pred = clf.predict(X)["species"]
    gentoo = (Y["species"] == "Gentoo").to_numpy()
    weighted = clf.score_tasks(X, Y[["species"]], sample_weight=w)["species"]
    assert weighted == pytest.approx(np.mean(pred[gentoo] == "Gentoo"))


def test_score_reads_each_task_by_name_in_any_order_or_subset(penguins):
    # Y's columns in another order, or only some tasks: each task is scored
    # against its own labels, as in the full Y
    X, Y = penguins
    clf = make_clf().fit(X, Y)
    full = clf.score_tasks(X, Y)
    pred = clf.predict(X)
    has = Y["island"].notna().to_numpy()
    assert full["island"] == pytest.approx(np.mean(pred["island"][has] == Y["island"][has]))
    reordered = clf.score_tasks(X, Y[list(reversed(Y.columns))])
    assert list(reordered) == list(reversed(Y.columns))
    assert reordered == pytest.approx(full)
    for task in ("sex", "island"):
        assert clf.score_tasks(X, Y[[task]]) == pytest.approx({task: full[task]})
        assert clf.score(X, {task: Y[task]}) == pytest.approx(full[task])


def test_score_counts_unknown_labels_as_wrong(tasks_data):
    X, Y = tasks_data
    clf = make_clf().fit(X, Y["colour"])
    pred = clf.predict(X)
    y = pred.astype(object)
    y[:40] = "purple"
    assert clf.score(X, y) == pytest.approx(1 - 40 / len(X))


def test_random_state_repeats_bit_for_bit_and_keeps_global_rng(tasks_data):
    X, Y = tasks_data
    before = torch.get_rng_state()
    a = make_clf(random_state=7, dropout=0.2).fit(X, Y)
    after = torch.get_rng_state()
    b = make_clf(random_state=7, dropout=0.2).fit(X, Y)
    c = make_clf(random_state=8, dropout=0.2).fit(X, Y)
    assert torch.equal(before, after)
    b_state = b.module_.state_dict()
    for name, value in a.module_.state_dict().items():
        assert torch.equal(value, b_state[name]), name
    np.testing.assert_array_equal(a.predict_proba(X)["colour"], b.predict_proba(X)["colour"])
    np.testing.assert_array_equal(a.history[:, "train_loss"], b.history[:, "train_loss"])
    assert not np.array_equal(a.predict_proba(X)["colour"], c.predict_proba(X)["colour"])


@pytest.mark.parametrize(
    "convert",
    [
        lambda X: X.astype(np.float64),
        lambda X: X.astype(np.float32),
        lambda X: pd.DataFrame(X),
        lambda X: X.tolist(),
    ],
    ids=["float64", "float32", "DataFrame", "list"],
)
def test_any_float_input_is_accepted(tasks_data, convert):
    X, Y = tasks_data
    ref = make_clf().fit(X.astype(np.float32), Y).predict_proba(X.astype(np.float32))
    got = make_clf().fit(convert(X), Y).predict_proba(convert(X))
    np.testing.assert_allclose(got["colour"], ref["colour"], rtol=1e-5, atol=1e-6)


def test_int_and_bool_and_sparse_X(tasks_data):
    import scipy.sparse as sp

    X, Y = tasks_data
    Xi = (X > 0).astype(np.int64)
    dense = make_clf().fit(Xi, Y).predict_proba(Xi)["binary"]
    booled = make_clf().fit(Xi.astype(bool), Y).predict_proba(Xi.astype(bool))["binary"]
    np.testing.assert_array_equal(dense, booled)
    # sparse X is neither scaled nor embedded by the "auto" recipe: the same
    # network as dense X with the recipe off
    plain = make_clf(feature_scaling=None, numeric_embedding=None)
    dense = plain.fit(Xi, Y).predict_proba(Xi)["binary"]
    sparse = make_clf().fit(sp.csr_matrix(Xi), Y).predict_proba(sp.csr_matrix(Xi))["binary"]
    np.testing.assert_array_equal(dense, sparse)


def test_default_trunk_follows_hidden_units_dropout_activation(tasks_data):
    X, Y = tasks_data
    clf = _fitted(
        X, Y, hidden_units=(8, 4), dropout=0.25, activation="gelu", numeric_embedding=None
    )
    trunk = clf.module_.trunk
    assert isinstance(trunk, MLPTrunk)
    linears = [m for m in trunk.modules() if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(6, 8), (8, 4)]
    assert sum(isinstance(m, nn.GELU) for m in trunk.modules()) == 2
    assert all(m.p == 0.25 for m in trunk.modules() if isinstance(m, nn.Dropout))
    assert [h.in_features for h in clf.module_.heads] == [4, 4, 4]


class WideTrunk(nn.Module):
    """A user trunk taking in_features, with no out_features attribute."""

    def __init__(self, in_features, width=12):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(in_features, width), nn.ReLU())

    def forward(self, X):
        return self.net(X)


def test_user_trunk_gets_in_features_and_heads_sized_by_dry_run(tasks_data):
    X, Y = tasks_data
    clf = make_clf(module=WideTrunk, module__width=10).fit(X, Y)
    assert isinstance(clf.module_.trunk, WideTrunk)
    assert clf.module_.trunk.net[0].in_features == X.shape[1]
    assert [h.in_features for h in clf.module_.heads] == [10, 10, 10]
    assert clf.score(X, Y) > 0.5


def test_module_kwargs_reach_default_trunk(tasks_data):
    X, Y = tasks_data
    clf = _fitted(X, Y, module__norm="batch")
    assert any(isinstance(m, nn.BatchNorm1d) for m in clf.module_.trunk.modules())


def test_criterion_options_pass_through(tasks_data):
    X, Y = tasks_data
    clf = _fitted(X, Y, criterion__label_smoothing=0.3)
    assert clf.criterion_.criterion.label_smoothing == 0.3
    assert clf.criterion_.criterion.reduction == "none"


def test_device_auto_resolves_and_stays_a_parameter(tasks_data):
    X, Y = tasks_data
    clf = _fitted(X, Y)
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert clf.get_params()["device"] == "auto"
    assert clf.device == expected
    assert next(clf.module_.parameters()).device.type == expected
    assert MultiTaskClassifier(device="cpu").device == "cpu"


def test_history_records_losses_and_validation_accuracy(penguins):
    X, Y = penguins
    clf = make_clf(max_epochs=8).fit(X, Y)
    assert len(clf.history) == 8
    losses = clf.history[:, "train_loss"]
    assert losses[-1] < losses[0]
    acc = clf.history[:, "valid_acc"]
    assert all(0.0 <= a <= 1.0 for a in acc)
    assert np.isfinite(clf.history[:, "valid_loss"]).all()


def test_task_weights_changed_between_warm_fits_take_effect(tasks_data):
    X, Y = tasks_data
    clf = make_clf(warm_start=True, max_epochs=1).fit(X, Y)
    clf.set_params(task_weights={"colour": 0.0}).fit(X, Y)
    np.testing.assert_array_equal(clf.task_weights_, [1.0, 0.0, 1.0])


def test_criterion_instance_is_copied_with_its_settings(tasks_data):
    X, Y = tasks_data
    mine = nn.CrossEntropyLoss(label_smoothing=0.2)
    clf = _fitted(X, Y, criterion=mine)
    assert clf.criterion_.criterion is not mine
    assert mine.reduction == "mean" and mine.ignore_index == -100  # untouched
    assert clf.criterion_.criterion.label_smoothing == 0.2
    assert clf.criterion_.criterion.reduction == "none"


class RowLoss(nn.Module):
    """A criterion without ignore_index: skmtl masks missing labels itself."""

    def __init__(self, reduction="none"):
        super().__init__()
        self.reduction = reduction

    def forward(self, logits, target):
        return nn.functional.cross_entropy(logits, target, reduction="none")


def test_custom_criterion_without_ignore_index_is_masked(tasks_data):
    X, Y = tasks_data
    ce = _fitted(X, {"a": Y["binary"]})
    custom = _fitted(X, {"a": Y["binary"]}, criterion=RowLoss)
    logits = torch.randn(4, 2)
    y = torch.tensor([[0], [-1], [1], [-1]])
    torch.testing.assert_close(custom.get_loss((logits,), y), ce.get_loss((logits,), y))
    expected = nn.functional.cross_entropy(logits[[0, 2]], torch.tensor([0, 1]))
    torch.testing.assert_close(ce.get_loss((logits,), y), expected)
