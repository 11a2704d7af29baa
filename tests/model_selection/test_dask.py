"""A grid search on a Dask cluster (joblib's dask backend) finds what the local one finds."""

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import GridSearchCV

from skmtl import MultiTaskClassifier, task_scorer
from skmtl.model_selection import MultiTaskStratifiedKFold, PackedGridSearchCV

distributed = pytest.importorskip("distributed")
joblib = pytest.importorskip("joblib")


def search() -> GridSearchCV:
    return GridSearchCV(
        MultiTaskClassifier(hidden_units=(16,), max_epochs=4, random_state=0, device="cpu"),
        {"lr": [1e-3, 3e-2], "dropout": [0.0, 0.2]},
        scoring={"a": task_scorer("a"), "b": task_scorer("b")},
        refit="b",
        cv=MultiTaskStratifiedKFold(3, shuffle=True, random_state=0),
    )


def test_grid_search_on_a_local_cluster_equals_the_local_run():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(150, 4))
    Y = {"a": (X[:, 0] > 0).astype(int), "b": np.where(X[:, 1] + X[:, 2] > 0, "yes", "no")}
    Y = pd.DataFrame(Y)
    local = search().fit(X, Y)
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        assert len(client.scheduler_info()["workers"]) == 2
        with joblib.parallel_backend("dask"):
            remote = search().set_params(n_jobs=-1).fit(X, Y)
    assert remote.best_params_ == local.best_params_
    np.testing.assert_allclose(
        remote.cv_results_["mean_test_b"], local.cv_results_["mean_test_b"], atol=1e-12
    )


def test_packed_search_groups_run_on_a_local_cluster():
    # two network widths: two groups, one a worker; the same answers as locally
    rng = np.random.default_rng(0)
    X = rng.normal(size=(150, 4))
    Y = pd.DataFrame({"a": (X[:, 0] > 0).astype(int), "b": (X[:, 1] > 0).astype(int)})

    def packed():
        return PackedGridSearchCV(
            MultiTaskClassifier(max_epochs=3, random_state=0, device="cpu"),
            {"hidden_units": [(8,), (16,)], "lr": [1e-3, 3e-2]},
            cv=MultiTaskStratifiedKFold(3, shuffle=True, random_state=0),
        )

    local = packed().fit(X, Y)
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster),
        joblib.parallel_backend("dask"),
    ):
        remote = packed().set_params(n_jobs=-1).fit(X, Y)
    assert remote.packed_.all()
    assert remote.best_params_ == local.best_params_
    np.testing.assert_allclose(
        remote.cv_results_["mean_test_score"], local.cv_results_["mean_test_score"], atol=1e-12
    )
