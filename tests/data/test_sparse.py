"""Sparse X stays sparse: validated to CSR float32, densified a batch at a time.

Covers the data path (no whole-matrix densification in fit, predict,
predict_proba and score; the inference cap on the values of a dense batch),
every sparse format, the recipe's choices for sparse X (and the embedding
limit for wide dense tables), non-finite values, skorch's own data path,
and the equality of sparse and dense inputs when nothing rescales them.
"""

import re

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.preprocessing import MaxAbsScaler
from support import make_clf

from skmtl import MultiTaskClassifier, MultiTaskRegressor
from skmtl.data import check_features, uses_fast_path
from skmtl.data._tensors import SPARSE_BATCH_VALUES
from skmtl.training._recipe import MAX_EMBEDDED_COLUMNS

# the sparse classes whose densifying methods the recorder watches
SPARSE_CLASSES = tuple(
    getattr(sp, f"{fmt}_{kind}")
    for fmt in ("csr", "csc", "coo", "bsr", "lil", "dok", "dia")
    for kind in ("matrix", "array")
)


def make_sparse_tasks(n: int = 600, n_features: int = 2000, density: float = 0.01, seed: int = 0):
    """CSR float32 features (nonnegative, as counts or TF-IDF) and two learnable tasks."""
    rng = np.random.default_rng(seed)
    # drawn by hand: scipy's sparse.random changed its seed argument across versions
    cells = np.unique(rng.integers(0, n * n_features, int(density * n * n_features)))
    values = rng.random(len(cells)).astype(np.float32)
    X = sp.csr_matrix((values, np.divmod(cells, n_features)), shape=(n, n_features))
    third = n_features // 3
    blocks = np.stack(
        [np.asarray(X[:, i * third : (i + 1) * third].sum(axis=1)).ravel() for i in range(3)],
        axis=1,
    )
    Y = {
        "half": (blocks[:, 0] > blocks[:, 1]).astype(int),
        "block": np.array(["a", "b", "c"])[blocks.argmax(axis=1)],
    }
    return X, Y


@pytest.fixture
def densified(monkeypatch):
    """The shapes of every block a sparse matrix or array turns dense (``toarray``,
    ``todense``), in call order; ``densified.clear()`` starts a new phase."""
    shapes = []

    def recording(original):
        def method(self, *args, **kwargs):
            shapes.append(self.shape)
            return original(self, *args, **kwargs)

        return method

    for cls in SPARSE_CLASSES:
        for name in ("toarray", "todense"):
            monkeypatch.setattr(cls, name, recording(getattr(cls, name)))
    return shapes


def _max_rows(shapes) -> int:
    assert shapes, "no dense block recorded: the recorder is not hooked into the data path"
    return max(shape[0] for shape in shapes)


# ------------------------------------------------------------- data path


def test_fit_predict_score_never_densify_the_whole_matrix(densified):
    X, Y = make_sparse_tasks()
    clf = make_clf(max_epochs=2, batch_size=64, predict_batch_size=100)
    clf.fit(X, Y)
    # training and validation batches: batch_size rows at most
    assert _max_rows(densified) <= 64
    for method in (clf.predict, clf.predict_proba):
        densified.clear()
        method(X)
        assert _max_rows(densified) <= 100
    densified.clear()
    clf.score(X, Y)
    assert _max_rows(densified) <= 100
    densified.clear()
    clf.score_tasks(X, Y)
    assert _max_rows(densified) <= 100 < X.shape[0]
    assert all(shape[1] == X.shape[1] for shape in densified)


def test_predict_batches_of_wide_sparse_X_hold_at_most_the_value_cap(densified):
    n_cols = 2**16
    X, Y = make_sparse_tasks(n=300, n_features=n_cols, density=2e-4)
    clf = make_clf(hidden_units=(4,), max_epochs=1, batch_size=64).fit(X, Y)
    cap = SPARSE_BATCH_VALUES // n_cols
    assert cap < X.shape[0] < clf.predict_batch_size  # the cap is what binds here
    for predict_batch_size in (8192, -1):
        clf.set_params(predict_batch_size=predict_batch_size)
        densified.clear()
        proba = clf.predict_proba(X)
        assert _max_rows(densified) == cap  # full batches of the capped size
        assert max(rows * cols for rows, cols in densified) <= SPARSE_BATCH_VALUES
        assert sum(rows for rows, _ in densified) == X.shape[0]
        assert len(proba["half"]) == X.shape[0]


def test_check_features_keeps_sparse_X_sparse_and_shares_csr_float32_buffers(densified):
    X, _ = make_sparse_tasks(n=50, n_features=40, density=0.1)
    out = check_features(MultiTaskClassifier(), X, reset=True)
    assert sp.issparse(out) and out.format == "csr" and out.dtype == np.float32
    assert np.shares_memory(out.data, X.data)  # no copy of CSR float32
    out64 = check_features(MultiTaskClassifier(), X.astype(np.float64).tocoo(), reset=True)
    assert out64.format == "csr" and out64.dtype == np.float32
    np.testing.assert_array_equal(out64.toarray(), X.toarray())
    densified.clear()  # the two toarray calls above are the test's own
    check_features(MultiTaskClassifier(), sp.lil_matrix(X), reset=True)
    assert densified == []


@pytest.mark.parametrize(
    "to_format",
    [
        pytest.param(sp.csc_matrix, id="csc_matrix"),
        pytest.param(sp.coo_matrix, id="coo_matrix"),
        pytest.param(sp.csr_array, id="csr_array"),
        pytest.param(sp.csc_array, id="csc_array"),
        pytest.param(sp.coo_array, id="coo_array"),
        pytest.param(sp.lil_matrix, id="lil_matrix"),
    ],
)
def test_every_sparse_format_gives_the_predictions_of_csr(to_format):
    X, Y = make_sparse_tasks(n=200, n_features=300, density=0.05)
    X_test = X[:60]
    reference = make_clf(max_epochs=2).fit(X, Y)
    other = make_clf(max_epochs=2).fit(to_format(X), Y)
    expected = reference.predict_proba(X_test)
    for fitted, given in ((other, to_format(X_test)), (reference, to_format(X_test))):
        proba = fitted.predict_proba(given)
        for task in Y:
            np.testing.assert_array_equal(proba[task], expected[task])
    assert other.score(to_format(X), Y) == reference.score(X, Y)


def test_rows_without_labels_are_dropped_from_sparse_X():
    X, Y = make_sparse_tasks(n=200, n_features=300, density=0.05)
    Y = {"half": Y["half"].astype(float), "block": Y["block"].astype(object)}
    Y["half"][:5] = np.nan
    Y["block"][:5] = None
    with pytest.warns(UserWarning, match="Dropped 5 row"):
        clf = make_clf(max_epochs=1).fit(X, Y)
    assert len(clf.predict(X)["half"]) == 200


# ---------------------------------------------------------------- recipe


def test_auto_recipe_neither_scales_nor_embeds_sparse_X():
    X, Y = make_sparse_tasks(n=200, n_features=300, density=0.05)
    clf = make_clf(max_epochs=1).fit(X, Y)  # feature_scaling and numeric_embedding "auto"
    assert clf.feature_scaling == "auto" and clf.numeric_embedding == "auto"
    assert clf.feature_scaler_ is None
    assert clf.embedded_columns_ is None


def test_maxabs_scaling_keeps_sparse_X_sparse(densified):
    X, Y = make_sparse_tasks()
    X = X.multiply(np.linspace(0.5, 20.0, X.shape[1], dtype=np.float32)).tocsr()
    clf = make_clf(max_epochs=1, batch_size=64, predict_batch_size=100, feature_scaling="maxabs")
    clf.fit(X, Y)
    assert isinstance(clf.feature_scaler_, MaxAbsScaler)
    np.testing.assert_allclose(clf.feature_scaler_.max_abs_, abs(X).max(axis=0).toarray().ravel())
    assert _max_rows(densified) <= 64
    densified.clear()
    clf.predict_proba(X)
    clf.score(X, Y)
    assert _max_rows(densified) <= 100


def test_maxabs_on_sparse_equals_maxabs_on_dense():
    X, Y = make_sparse_tasks(n=200, n_features=300, density=0.05)
    X = X.multiply(np.linspace(0.5, 20.0, X.shape[1], dtype=np.float32)).tocsr()
    Xd = X.toarray()
    sparse = make_clf(max_epochs=2, feature_scaling="maxabs").fit(X, Y)
    dense = make_clf(max_epochs=2, feature_scaling="maxabs", numeric_embedding=None).fit(Xd, Y)
    for task in Y:
        np.testing.assert_allclose(
            sparse.predict_proba(X)[task], dense.predict_proba(Xd)[task], rtol=0, atol=1e-6
        )


@pytest.mark.parametrize("kind", ["quantile", "standard", "robust"])
def test_densifying_scaling_of_sparse_X_is_refused(kind):
    X, Y = make_sparse_tasks(n=100, n_features=50, density=0.1)
    message = (
        f"feature_scaling={kind!r} would make sparse X dense; use "
        "feature_scaling='maxabs' (keeps sparsity), 'auto' or None."
    )
    clf = make_clf(feature_scaling=kind)
    with pytest.raises(ValueError, match=re.escape(message)):
        clf.fit(X, Y)
    assert not hasattr(clf, "feature_scaler_")  # a failed fit leaves no half-fitted model


def test_periodic_embedding_of_sparse_X_is_refused():
    X, Y = make_sparse_tasks(n=100, n_features=50, density=0.1)
    with pytest.raises(
        ValueError, match=re.escape("embeds the columns of a dense 2-D table; X is sparse")
    ):
        make_clf(numeric_embedding="periodic").fit(X, Y)


def _wide_table(n_numeric: int, n_binary: int = 0, n: int = 500, seed: int = 0):
    rng = np.random.default_rng(seed)
    numeric = rng.normal(size=(n, n_numeric))
    binary = rng.integers(0, 2, size=(n, n_binary)).astype(float)
    X = np.hstack([numeric, binary])
    return X, {"sign": (numeric[:, 0] > 0).astype(int)}


def test_auto_embedding_is_off_past_the_column_limit():
    X, Y = _wide_table(MAX_EMBEDDED_COLUMNS + 1)
    auto = make_clf(hidden_units=(4,), max_epochs=1, feature_scaling=None).fit(X, Y)
    assert auto.embedded_columns_ is None
    explicit = make_clf(
        hidden_units=(4,), max_epochs=1, feature_scaling=None, numeric_embedding="periodic"
    ).fit(X, Y)
    assert explicit.embedded_columns_ == list(range(MAX_EMBEDDED_COLUMNS + 1))


def test_auto_embedding_counts_only_non_binary_columns_against_the_limit():
    # at the limit: embedded
    X, Y = _wide_table(MAX_EMBEDDED_COLUMNS)
    clf = make_clf(hidden_units=(4,), max_epochs=1, feature_scaling=None).fit(X, Y)
    assert clf.embedded_columns_ == list(range(MAX_EMBEDDED_COLUMNS))
    # more columns than the limit, but the 0/1 ones pass through and do not count
    X, Y = _wide_table(200, n_binary=100)
    clf = make_clf(hidden_units=(4,), max_epochs=1, feature_scaling=None).fit(X, Y)
    assert clf.embedded_columns_ == list(range(200))


# ------------------------------------------------------- non-finite values


@pytest.mark.parametrize(
    ("value", "what"),
    [(np.nan, "NaN"), (np.inf, "infinity"), (-np.inf, "infinity")],
)
def test_non_finite_sparse_values_are_refused_naming_the_column(value, what):
    X, Y = make_sparse_tasks(n=100, n_features=50, density=0.1)
    X = X.copy()
    k = len(X.data) // 2
    column = int(X.indices[k])
    X.data[k] = value
    expected = re.escape(f"Input X contains {what}") + r".* column\(s\) " + re.escape(f"[{column}]")
    with pytest.raises(ValueError, match=expected):
        make_clf(max_epochs=1).fit(X, Y)
    with pytest.raises(ValueError, match=expected):
        make_clf(max_epochs=1).fit(X.tocoo(), Y)  # any format
    fitted = make_clf(max_epochs=1).fit(make_sparse_tasks(n=100, n_features=50, density=0.1)[0], Y)
    with pytest.raises(ValueError, match=expected):
        fitted.predict(X)


def test_non_finite_sparse_values_in_several_columns_are_all_named():
    X, Y = make_sparse_tasks(n=100, n_features=50, density=0.1)
    X = X.tocsc()  # data grouped by column
    first, second = 3, 41
    X.data[X.indptr[first]] = np.nan
    X.data[X.indptr[second]] = np.nan
    with pytest.raises(ValueError, match=re.escape(f"NaN in column(s) [{first}, {second}]")):
        make_clf(max_epochs=1).fit(X, Y)


# ---------------------------------------------------------- skorch's path


def test_sparse_X_on_skorchs_data_path(densified):
    X, Y = make_sparse_tasks(n=200, n_features=300, density=0.05)
    clf = make_clf(max_epochs=2, batch_size=32, data_on_device=False)
    assert not uses_fast_path(clf, X)
    clf.fit(X, Y)
    assert _max_rows(densified) < X.shape[0]  # skorch's Dataset densifies row by row
    densified.clear()
    predicted = clf.predict(X)
    proba = clf.predict_proba(X)
    assert _max_rows(densified) < X.shape[0]
    assert set(predicted) == set(Y) and len(predicted["block"]) == X.shape[0]
    np.testing.assert_allclose(proba["block"].sum(axis=1), 1.0, rtol=1e-5)
    assert 0.0 <= clf.score(X, Y) <= 1.0


def test_inference_batches_of_wide_sparse_X_are_capped_on_skorchs_data_path_too():
    # skorch's Dataset densifies one row at a time and its DataLoader stacks
    # them, so the batch the module gets is what is dense at once
    n_cols = 2**16
    X, Y = make_sparse_tasks(n=300, n_features=n_cols, density=2e-4)
    clf = make_clf(hidden_units=(4,), max_epochs=1, batch_size="auto", data_on_device=False)
    clf.fit(X, Y)
    cap = SPARSE_BATCH_VALUES // n_cols
    assert cap < X.shape[0] < clf.predict_batch_size
    rows = []
    clf.module_.register_forward_pre_hook(lambda module, args: rows.append(len(args[0])))
    clf.predict_proba(X)
    assert sum(rows) == X.shape[0]
    assert max(rows) <= cap


def test_sparse_and_dense_X_train_alike_on_skorchs_data_path():
    X, Y = make_sparse_tasks(n=200, n_features=300, density=0.05)
    Xd = X.toarray()
    plain = dict(max_epochs=2, batch_size=32, data_on_device=False)
    sparse = make_clf(**plain).fit(X, Y)
    dense = make_clf(**plain, feature_scaling=None, numeric_embedding=None).fit(Xd, Y)
    for task in Y:
        np.testing.assert_allclose(
            sparse.predict_proba(X)[task], dense.predict_proba(Xd)[task], rtol=0, atol=1e-6
        )


# ------------------------------------------------------ sparse equals dense


def test_sparse_predictions_equal_dense_with_the_recipe_off():
    X, Y = make_sparse_tasks()
    Xd = X.toarray()
    sparse = make_clf(max_epochs=3).fit(X, Y)  # the auto recipe is off for sparse X
    dense = make_clf(max_epochs=3, feature_scaling=None, numeric_embedding=None).fit(Xd, Y)
    assert [h["valid_loss"] for h in sparse.history] == pytest.approx(
        [h["valid_loss"] for h in dense.history], abs=1e-6
    )
    sparse_proba, dense_proba = sparse.predict_proba(X), dense.predict_proba(Xd)
    for task in Y:
        np.testing.assert_allclose(sparse_proba[task], dense_proba[task], rtol=0, atol=1e-6)
    predicted, expected = sparse.predict(X), dense.predict(Xd)
    for task in Y:
        np.testing.assert_array_equal(predicted[task], expected[task])
    assert sparse.score_tasks(X, Y) == dense.score_tasks(Xd, Y)


def test_regressor_fits_and_predicts_sparse_X_batch_by_batch(densified):
    X, _ = make_sparse_tasks(n=300, n_features=500, density=0.02)
    weights = np.random.default_rng(1).normal(size=(500, 2))
    targets = np.asarray(X @ weights)
    reg = MultiTaskRegressor(
        hidden_units=(16,), max_epochs=2, batch_size=32, predict_batch_size=50, random_state=0
    )
    reg.fit(X, targets)
    assert reg.feature_scaler_ is None and reg.embedded_columns_ is None
    assert _max_rows(densified) <= 32
    densified.clear()
    predicted = reg.predict(X)
    assert predicted.shape == targets.shape and np.isfinite(predicted).all()
    assert _max_rows(densified) <= 50
