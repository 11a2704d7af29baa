"""The bundled Palmer penguins loader."""

import pandas as pd
import pytest

from skmtl.datasets import load_penguins


def test_load_penguins_bunch():
    data = load_penguins()
    assert data.frame.shape == (344, 8)
    assert data.feature_names == [
        "bill_length_mm",
        "bill_depth_mm",
        "flipper_length_mm",
        "body_mass_g",
    ]
    assert data.target_names == ["species", "sex", "island"]
    pd.testing.assert_frame_equal(data.data, data.frame[data.feature_names])
    assert "CC0" in data.DESCR


def test_load_penguins_X_y_values():
    X, Y = load_penguins(return_X_y=True)
    assert X.shape == (344, 4) and Y.shape == (344, 3)
    assert all(pd.api.types.is_float_dtype(t) for t in X.dtypes)
    assert int(X.isna().any(axis=1).sum()) == 2
    assert int(Y["sex"].isna().sum()) == 11
    assert Y["species"].value_counts().to_dict() == {"Adelie": 152, "Gentoo": 124, "Chinstrap": 68}
    assert sorted(Y["island"].unique()) == ["Biscoe", "Dream", "Torgersen"]
    assert X.iloc[0].tolist() == pytest.approx([39.1, 18.7, 181.0, 3750.0])
