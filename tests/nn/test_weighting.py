"""Task weighting: each method's defining math, and its use through the estimator."""

import itertools

import numpy as np
import pytest
import torch
from sklearn.model_selection import GridSearchCV, KFold
from skorch.callbacks import EarlyStopping
from support import make_clf

from skmtl.nn import cosine_matrix, min_norm_weights, project_conflicting
from skmtl.nn._weighting import (
    DWA,
    FAMO,
    MGDA,
    STRATEGIES,
    GradNorm,
    PCGrad,
    TaskWeighting,
    Uncertainty,
    make_weighting,
)

# ------------------------------------------------------------------ gradients


def test_pcgrad_projects_conflicting_gradients_as_documented():
    g = torch.tensor([[1.0, 0.0], [-1.0, 1.0]])
    out = project_conflicting(g, order=torch.tensor([[0, 1], [1, 0]]))
    # g1 - (g1.g2 / |g2|^2) g2 = [1, 0] + 0.5 [-1, 1]; g2 - (g2.g1 / |g1|^2) g1 = [0, 1]
    torch.testing.assert_close(out, torch.tensor([[0.5, 0.5], [0.0, 1.0]]))
    assert out[0] @ g[1] >= -1e-7 and out[1] @ g[0] >= -1e-7


def test_pcgrad_leaves_agreeing_gradients_alone():
    g = torch.tensor([[1.0, 0.2], [0.5, 1.0], [0.1, 0.1]])
    torch.testing.assert_close(project_conflicting(g), g)


def test_pcgrad_removes_all_pairwise_conflicts_with_two_tasks():
    torch.manual_seed(0)
    for _ in range(20):
        g = torch.randn(2, 5)
        out = project_conflicting(g)
        assert out[0] @ g[1] >= -1e-5 and out[1] @ g[0] >= -1e-5


def test_min_norm_weights_known_cases():
    orthogonal = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    torch.testing.assert_close(min_norm_weights(orthogonal), torch.tensor([0.5, 0.5]))
    collinear = torch.tensor([[1.0, 0.0], [2.0, 0.0]])
    torch.testing.assert_close(
        min_norm_weights(collinear), torch.tensor([1.0, 0.0]), atol=1e-4, rtol=0
    )
    inner = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.2, 0.2]])
    torch.testing.assert_close(
        min_norm_weights(inner), torch.tensor([0.0, 0.0, 1.0]), atol=1e-3, rtol=0
    )


def test_min_norm_weights_beat_a_grid_of_the_simplex():
    torch.manual_seed(1)
    g = torch.randn(3, 4)
    w = min_norm_weights(g, n_iter=200)
    assert torch.all(w >= 0) and torch.isclose(w.sum(), torch.tensor(1.0))
    grid = [
        torch.tensor([a, b, 1 - a - b]) / 1.0
        for a, b in itertools.product(np.linspace(0, 1, 51), repeat=2)
        if a + b <= 1 + 1e-9
    ]
    best = min(float((p.float() @ g).norm()) for p in grid)
    assert float((w @ g).norm()) <= best + 1e-3


def test_cosine_matrix():
    g = torch.tensor([[1.0, 0.0], [1.0, 1.0], [-2.0, 0.0]])
    c = cosine_matrix(g)
    torch.testing.assert_close(torch.diag(c), torch.ones(3))
    torch.testing.assert_close(c, c.T)
    assert c[0, 2] == pytest.approx(-1.0)
    assert c[0, 1] == pytest.approx(2**-0.5)


# ------------------------------------------------------------------ strategies


def test_uncertainty_loss_has_the_papers_form():
    w = Uncertainty()
    w.setup(2)
    with torch.no_grad():
        w.log_vars.copy_(torch.tensor([0.5, -1.0]))
    losses = torch.tensor([2.0, 3.0])
    expected = np.exp(-0.5) * 2 + 0.25 + np.exp(1.0) * 3 - 0.5
    assert float(w.combine(losses, torch.ones(2, dtype=torch.bool)).detach()) == pytest.approx(
        expected, rel=1e-6
    )
    torch.testing.assert_close(w.epoch_weights(), torch.exp(-torch.tensor([0.5, -1.0])))


def test_uncertainty_log_variances_are_trained_by_the_optimizer(penguins):
    X, Y = penguins
    clf = make_clf(task_weighting="uncertainty", max_epochs=5).fit(X, Y)
    assert "weighting" in clf._criteria  # a criterion skorch knows, moves and saves
    log_vars = clf.weighting_.log_vars
    in_optimizer = any(p is log_vars for g in clf.optimizer_.param_groups for p in g["params"])
    assert in_optimizer
    assert not torch.allclose(log_vars, torch.zeros(3))
    logged = clf.history[-1, "weight_species"]
    assert logged != 1.0 and logged > 0


def test_dwa_weights_follow_the_loss_ratio_and_sum_to_n_tasks():
    w = DWA(temperature=2.0)
    w.setup(3)
    torch.testing.assert_close(w.weights, torch.ones(3))
    w.end_epoch(torch.tensor([1.0, 1.0, 1.0]), torch.ones(3, dtype=torch.bool))
    torch.testing.assert_close(w.weights, torch.ones(3))  # one epoch of history: still 1
    w.end_epoch(torch.tensor([0.5, 1.0, 2.0]), torch.ones(3, dtype=torch.bool))
    ratio = torch.tensor([0.5, 1.0, 2.0])
    expected = 3 * torch.softmax(ratio / 2.0, dim=0)
    torch.testing.assert_close(w.weights, expected)
    assert float(w.weights.sum()) == pytest.approx(3.0)
    assert w.weights[2] > w.weights[1] > w.weights[0]  # the slowest task gets the most


def test_famo_weights_and_logit_update():
    w = FAMO(lr=0.5, decay=0.0)
    w.setup(2)
    first = torch.tensor([1.0, 1.0], requires_grad=True)
    w.combine(first, torch.ones(2, dtype=torch.bool)).backward()
    # z = [0.5, 0.5], c = sum z / L = 1: the weight of task t is z_t / (c L_t) = 0.5
    torch.testing.assert_close(first.grad, torch.tensor([0.5, 0.5]))
    # task 0's loss halves, task 1's barely moves: FAMO raises task 1's weight
    second = torch.tensor([0.5, 0.9], requires_grad=True)
    w.combine(second, torch.ones(2, dtype=torch.bool)).backward()
    z = torch.softmax(w.logits, dim=0)
    assert z[1] > z[0]
    c = float((z / second.detach()).sum())
    torch.testing.assert_close(second.grad, z / (c * second.detach()))


def test_gradnorm_moves_weight_towards_the_task_with_the_smaller_gradient():
    w = GradNorm(alpha=1.5)
    w.setup(2)
    losses = torch.tensor([1.0, 1.0])
    grads = torch.tensor([[1.0, 0.0], [0.0, 3.0]])  # |g0| = 1 < |g1| = 3
    shared, head_weights = w.combine_gradients(losses, grads, torch.ones(2, dtype=torch.bool))
    assert w.task_weights.grad[0] < 0 < w.task_weights.grad[1]
    torch.testing.assert_close(shared, head_weights @ grads)
    with torch.no_grad():
        w.task_weights -= 0.1 * w.task_weights.grad
    w.combine_gradients(
        losses, grads, torch.ones(2, dtype=torch.bool)
    )  # renormalises to sum to the number of tasks
    assert float(w.task_weights.detach().sum()) == pytest.approx(2.0)
    assert w.task_weights[0] > w.task_weights[1]


def test_pcgrad_and_mgda_combine_gradients():
    grads = torch.tensor([[1.0, 0.0], [-1.0, 1.0]])
    losses = torch.tensor([1.0, 2.0])
    pc = PCGrad()
    pc.setup(2)
    torch.manual_seed(0)
    shared, heads = pc.combine_gradients(losses, grads, torch.ones(2, dtype=torch.bool))
    torch.testing.assert_close(shared, torch.tensor([0.5, 1.5]))  # [0.5, 0.5] + [0, 1]
    torch.testing.assert_close(heads, torch.ones(2))
    mg = MGDA()
    mg.setup(2)
    shared, heads = mg.combine_gradients(losses, grads, torch.ones(2, dtype=torch.bool))
    torch.testing.assert_close(heads, 2 * min_norm_weights(grads))
    assert float(heads.sum()) == pytest.approx(2.0)
    torch.testing.assert_close(shared, heads @ grads)


def test_unknown_weighting_name():
    with pytest.raises(ValueError, match="Unknown task_weighting 'nope'; use one of"):
        make_weighting("nope", 2)


# ------------------------------------------------------------ through the estimator


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_every_strategy_trains_and_logs_its_weights(penguins, name):
    X, Y = penguins
    clf = make_clf(task_weighting=name, max_epochs=4).fit(X, Y)
    for task in clf.tasks_:
        weights = clf.history[:, f"weight_{task}"]
        assert len(weights) == 4 and all(np.isfinite(weights))
    assert np.isfinite(clf.history[:, "train_loss"]).all()
    assert clf.score(X, Y) > 0.6


@pytest.mark.parametrize("name", ["equal", "pcgrad"])
def test_a_trunk_without_parameters_trains_its_heads(penguins, name):
    # hidden_units=() (allowed: "possibly empty") feeds X to the heads; the
    # affinity step and the gradient strategies split the network at a
    # representation that has nothing behind it to train
    X, Y = penguins
    params = dict(hidden_units=(), task_weighting=name, affinity_every=1)
    before = make_clf(max_epochs=0, **params).fit(X, Y).module_.heads[0].weight
    clf = make_clf(max_epochs=3, **params).fit(X, Y)
    assert not torch.equal(clf.module_.heads[0].weight, before)
    assert not list(clf.module_.trunk.parameters())
    assert np.isfinite(clf.history[:, "train_loss"]).all()


def test_dwa_logged_weights_are_one_for_two_epochs_then_sum_to_n_tasks(penguins):
    X, Y = penguins
    clf = make_clf(task_weighting="dwa", max_epochs=5).fit(X, Y)
    rows = [[clf.history[e, f"weight_{t}"] for t in clf.tasks_] for e in range(5)]
    assert rows[0] == rows[1] == [1.0, 1.0, 1.0]
    assert sum(rows[4]) == pytest.approx(3.0, rel=1e-5) and rows[4] != [1.0, 1.0, 1.0]


def test_static_task_weights_scale_the_logged_weights(penguins):
    X, Y = penguins
    clf = make_clf(task_weights={"island": 0.5}, max_epochs=1).fit(X, Y)
    assert clf.history[-1, "weight_island"] == 0.5
    assert clf.history[-1, "weight_sex"] == 1.0


class FirstTaskOnly(TaskWeighting):
    """A user's own strategy: train on the first task alone."""

    def combine(self, losses, present):
        weights = torch.zeros_like(losses)
        weights[0] = 1.0
        self._log(weights)
        return (weights * losses).sum()


def test_a_users_own_strategy_plugs_in(penguins):
    X, Y = penguins
    clf = make_clf(task_weighting=FirstTaskOnly(), max_epochs=3, affinity_every=0)
    clf.fit(X, Y)
    assert clf.history[-1, "weight_species"] == 1.0 and clf.history[-1, "weight_sex"] == 0.0
    fresh = make_clf(task_weighting=FirstTaskOnly(), max_epochs=0, affinity_every=0).fit(X, Y)
    # the heads of the other tasks never moved from their initial weights
    for head in (1, 2):
        torch.testing.assert_close(clf.module_.heads[head].weight, fresh.module_.heads[head].weight)


def test_grid_search_over_strategies(penguins):
    X, Y = penguins
    grid = {"task_weighting": ["equal", "uncertainty", "famo", "pcgrad"]}
    search = GridSearchCV(make_clf(max_epochs=3), grid, cv=KFold(2, shuffle=True, random_state=0))
    search.fit(X, Y)
    assert [p["task_weighting"] for p in search.cv_results_["params"]] == grid["task_weighting"]
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()


# ------------------------------------------------------------ per-task history


def test_per_task_columns_in_history(penguins):
    X, Y = penguins
    clf = make_clf(max_epochs=3).fit(X, Y)
    row = clf.history[-1]
    for task in clf.tasks_:
        for key in ("train_loss", "valid_loss", "valid_acc", "weight"):
            assert np.isfinite(row[f"{key}_{task}"]), (key, task)
    per_task_acc = [row[f"valid_acc_{t}"] for t in clf.tasks_]
    assert row["valid_acc"] == pytest.approx(np.mean(per_task_acc), rel=1e-6)
    # with equal weights the reported loss is close to the sum of the task losses
    valid_sum = sum(row[f"valid_loss_{t}"] for t in clf.tasks_)
    assert row["valid_loss"] == pytest.approx(valid_sum, rel=0.05)


def test_early_stopping_on_one_task(penguins):
    X, Y = penguins
    stop = EarlyStopping(monitor="valid_loss_sex", patience=1, threshold=1e9)
    clf = make_clf(max_epochs=20, callbacks=[stop]).fit(X, Y)
    assert len(clf.history) == 2


def test_compact_log_shows_task_accuracies_not_every_column(penguins, capsys):
    X, Y = penguins
    make_clf(max_epochs=1, verbose=1).fit(X, Y)
    header = capsys.readouterr().out.splitlines()[0].split()
    assert "species" in header and "valid_loss" in header  # per-task scores by task name
    assert "train_loss_species" not in header and "weight_species" not in header


# ------------------------------------------------------------------ affinity


def test_task_affinity_is_symmetric_with_unit_diagonal(penguins):
    X, Y = penguins
    clf = make_clf(max_epochs=3, affinity_every=1).fit(X, Y)
    aff = clf.task_affinity_
    assert list(aff.index) == list(aff.columns) == clf.tasks_
    np.testing.assert_allclose(np.diag(aff), 1.0, rtol=1e-5)
    np.testing.assert_allclose(aff.to_numpy(), aff.to_numpy().T, atol=1e-6)
    assert ((aff.to_numpy() >= -1 - 1e-6) & (aff.to_numpy() <= 1 + 1e-6)).all()


def test_tasks_with_one_gradient_have_affinity_one(tasks_data):
    # the same labels and, copied, the same head: both tasks pull the trunk alike
    X, Y = tasks_data
    targets = {"a": Y["binary"], "b": Y["binary"]}
    clf = make_clf(affinity_every=1, max_epochs=0).fit(X, targets)
    clf.module_.heads[1].load_state_dict(clf.module_.heads[0].state_dict())
    clf.set_params(max_epochs=2).partial_fit(X, targets)
    assert clf.task_affinity_.loc["a", "b"] == pytest.approx(1.0, abs=1e-5)


def _mean_affinity(*sampled):
    """The task history's mean cosines after steps that sampled these gradients."""
    from skmtl.training import TaskHistory

    history = TaskHistory()
    history.affinity_sum_, history.affinity_steps_ = torch.zeros(2, 2), torch.zeros(2, 2)
    history.sums_, history.counts_ = torch.zeros(2, 2), torch.zeros(2, 2)
    both = torch.ones(2, dtype=torch.bool)
    for grads, present in sampled:
        step = {"task_sums": torch.zeros(2), "task_counts": torch.zeros(2)}
        step["task_gradients"] = (grads, both if present is None else present)
        history.on_batch_end(None, training=True, **step)
    return history.affinity_sum_ / history.affinity_steps_


def test_affinity_is_the_mean_cosine_of_the_sampled_gradients():
    mean = _mean_affinity(
        (torch.tensor([[1.0, 0.0], [1.0, 0.0]]), None),
        (torch.tensor([[1.0, 0.0], [-1.0, 0.0]]), None),
    )
    torch.testing.assert_close(mean, torch.tensor([[1.0, 0.0], [0.0, 1.0]]))


def test_affinity_off():
    X = np.random.default_rng(0).normal(size=(60, 3))
    clf = make_clf(affinity_every=0).fit(X, {"a": X[:, 0] > 0, "b": X[:, 1] > 0})
    assert clf.task_affinity_.isna().all().all()


@pytest.mark.parametrize("name", ["uncertainty", "famo", "gradnorm", "dwa"])
def test_stateful_strategies_pickle_and_predict_identically(penguins, name):
    import pickle

    X, Y = penguins
    clf = make_clf(task_weighting=name, max_epochs=3).fit(X, Y)
    back = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(back.predict_proba(X)["sex"], clf.predict_proba(X)["sex"])
    back.partial_fit(X, Y)  # and training goes on from the restored state
    assert len(back.history) == 6


def test_weighting_instance_is_copied_not_trained_in_place(penguins):
    X, Y = penguins
    mine = Uncertainty()
    clf = make_clf(task_weighting=mine, max_epochs=2).fit(X, Y)
    assert not hasattr(mine, "log_vars")
    assert clf.weighting_ is not mine


@pytest.mark.parametrize("name", ["pcgrad", "gradnorm"])
def test_gradient_methods_under_bf16_autocast(tasks_data, name):
    # the split path casts the combined gradient back to the bf16 representation
    X, Y = tasks_data
    clf = make_clf(task_weighting=name, mixed_precision=True, affinity_every=1, max_epochs=3)
    clf.fit(X, Y)
    assert np.isfinite(clf.history[:, "train_loss"]).all()
    assert np.isfinite(clf.task_affinity_.to_numpy()).all()
    assert clf.score(X, Y) > 0.55


@pytest.mark.parametrize("arch", ["shared", "mmoe", "ple"])
def test_split_path_trains_exactly_like_one_backward(tasks_data, arch):
    # affinity_every=1 cuts the network at the shared representation on every
    # step; with "equal" the trunk and heads must get exactly the same gradients
    X, Y = tasks_data
    params = dict(
        train_split=None,
        iterator_train__shuffle=False,
        max_epochs=2,
        batch_size=32,
        architecture=arch,
    )
    plain = make_clf(affinity_every=0, **params).fit(X, Y).module_.state_dict()
    split = make_clf(affinity_every=1, **params).fit(X, Y).module_.state_dict()
    for name, value in plain.items():
        assert torch.equal(value, split[name]), name


# ------------------------------------------------- tasks absent from a batch

ABSENT = torch.tensor([True, False])


def test_famo_leaves_a_task_without_labels_out():
    w = FAMO(lr=0.5, decay=0.0)
    w.setup(2)
    losses = torch.tensor([0.6, 0.0], requires_grad=True)
    w.combine(losses, ABSENT).backward()
    # the labelled task alone: z = [1, 0], c = 1 / 0.6, weight z / (c L) = 1
    torch.testing.assert_close(losses.grad, torch.tensor([1.0, 0.0]))
    assert torch.isnan(w.prev_losses[1])  # no loss was seen for task 1
    assert torch.all(torch.isfinite(w.logits))


def test_mgda_with_an_absent_task_trains_the_labelled_one():
    w = MGDA()
    w.setup(2)
    grads = torch.tensor([[1.0, 2.0], [0.0, 0.0]])
    shared, heads = w.combine_gradients(torch.tensor([0.7, 0.0]), grads, ABSENT)
    torch.testing.assert_close(heads, torch.tensor([1.0, 0.0]))
    torch.testing.assert_close(shared, grads[0])


def test_gradnorm_ignores_an_absent_task():
    w = GradNorm()
    w.setup(2)
    grads = torch.tensor([[1.0, 0.0], [0.0, 0.0]])
    w.combine_gradients(torch.tensor([0.7, 0.0]), grads, ABSENT)
    assert torch.isnan(w.initial_losses[1]) and w.initial_losses[0] == pytest.approx(0.7)
    assert w.task_weights.grad[1] == 0


def test_uncertainty_does_not_move_an_absent_tasks_variance():
    w = Uncertainty()
    w.setup(2)
    w.combine(torch.tensor([0.7, 0.0]), ABSENT).backward()
    assert w.log_vars.grad[1] == 0 and w.log_vars.grad[0] != 0


def test_dwa_keeps_history_of_a_task_missing_from_an_epoch():
    w = DWA()
    w.setup(2)
    both = torch.ones(2, dtype=torch.bool)
    w.end_epoch(torch.tensor([1.0, 1.0]), both)
    w.end_epoch(torch.tensor([0.8, 0.5]), both)
    before = w.weights.clone()
    w.end_epoch(torch.tensor([0.7, float("nan")]), ABSENT)
    assert torch.isfinite(w.weights).all()
    torch.testing.assert_close(w.history[:, 1], torch.tensor([1.0, 0.5]))  # unchanged
    assert not torch.equal(w.weights, before)


@pytest.mark.parametrize("name", ["famo", "mgda", "gradnorm", "uncertainty", "dwa"])
def test_strategies_learn_a_task_beside_a_zero_weight_one(tasks_data, name):
    # task b weighs 0: its loss is 0 on every batch, which must not stall task a
    X, Y = tasks_data
    targets = {"a": Y["binary"], "b": Y["colour"]}
    clf = make_clf(
        task_weighting=name, task_weights={"b": 0.0}, max_epochs=15, train_split=None, batch_size=32
    ).fit(X, targets)
    assert clf.score_tasks(X, targets)["a"] > 0.85


def test_strategies_with_mostly_missing_labels(tasks_data):
    X, Y = tasks_data
    b = np.array(Y["colour"], dtype=object)
    b[np.random.default_rng(0).random(len(b)) < 0.9] = None
    targets = {"a": Y["binary"], "b": b}
    clf = make_clf(task_weighting="gradnorm", max_epochs=10, batch_size=16, train_split=None).fit(
        X, targets
    )
    weights = [clf.history[-1, "weight_a"], clf.history[-1, "weight_b"]]
    assert min(weights) > 0.1 and sum(weights) == pytest.approx(2.0, rel=1e-4)
    assert clf.score_tasks(X, targets)["a"] > 0.85


def test_affinity_leaves_out_pairs_with_an_absent_task():
    mean = _mean_affinity(
        (torch.tensor([[1.0, 0.0], [1.0, 1.0]]), None),
        (torch.tensor([[1.0, 0.0], [0.0, 0.0]]), ABSENT),
    )
    torch.testing.assert_close(torch.diag(mean), torch.ones(2))
    assert mean[0, 1] == pytest.approx(2**-0.5)


def test_gradient_methods_sample_affinity_only_every_affinity_every_steps(tasks_data):
    X, Y = tasks_data
    clf = make_clf(
        task_weighting="pcgrad", affinity_every=5, train_split=None, batch_size=24, max_epochs=2
    ).fit(X, Y)
    steps = 2 * len(X) // 24
    sampled = dict(clf.callbacks_)["task_history"].affinity_steps_[0, 0]
    assert float(sampled) == len(range(0, steps, 5))
