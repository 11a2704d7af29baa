"""What every loader returns: ``(X, Y)`` or a Bunch, rows without a label left out."""

from __future__ import annotations

import pandas as pd
from sklearn.utils import Bunch


def table_result(
    frame: pd.DataFrame,
    features: list[str],
    tasks: list[str],
    descr: str,
    return_X_y: bool,
) -> Bunch | tuple[pd.DataFrame, pd.DataFrame]:
    """``frame`` split into features and tasks, keeping rows with any label."""
    frame = frame[frame[tasks].notna().any(axis=1)].reset_index(drop=True)
    X, Y = frame[features].copy(), frame[tasks].copy()
    if return_X_y:
        return X, Y
    return Bunch(
        data=X,
        target=Y,
        frame=frame,
        feature_names=list(features),
        target_names=list(tasks),
        DESCR=descr,
    )
