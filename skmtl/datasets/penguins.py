"""The Palmer penguins data: three natural tasks, one with missing labels."""

from __future__ import annotations

from importlib import resources

import pandas as pd
from sklearn.utils import Bunch

from ._bunch import table_result

FEATURES = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]
TASKS = ["species", "sex", "island"]

DESCR = """Palmer penguins
---------------
344 adult penguins (Adelie, Chinstrap, Gentoo) observed on three islands of the
Palmer Archipelago, Antarctica, 2007-2009: bill length and depth, flipper
length and body mass. Tasks: species (3 classes), sex (2 classes; 11 rows
unlabelled) and island (3 classes). Two rows miss every measurement.

Data: Gorman, Williams & Fraser (2014), PLoS ONE 9(3): e90081, collected by the
Palmer Station LTER; packaged by Horst, Hill & Gorman as ``palmerpenguins``.
License: CC0 1.0 (public domain dedication). Shipped inside skmtl as
``skmtl/datasets/data/penguins.csv``.
"""


def load_penguins(*, return_X_y: bool = False) -> Bunch | tuple[pd.DataFrame, pd.DataFrame]:
    """Load the Palmer penguins as features plus three classification tasks.

    The CSV ships inside the package; nothing is downloaded.

    Parameters
    ----------
    return_X_y : bool, default=False
        Return ``(X, Y)`` instead of a Bunch.

    Returns
    -------
    Bunch or tuple
        ``data``: DataFrame (344, 4) of the numeric measurements, with NaN in
        two rows; ``target``: DataFrame (344, 3) with columns ``species``,
        ``sex`` (NaN where unknown) and ``island``; ``frame``: the whole table
        (with ``year``); ``feature_names``, ``target_names`` and ``DESCR``.

    Examples
    --------
    >>> from skmtl.datasets import load_penguins
    >>> X, Y = load_penguins(return_X_y=True)
    >>> X.shape, Y.shape
    ((344, 4), (344, 3))
    >>> int(Y["sex"].isna().sum())
    11
    """
    with resources.files(__package__).joinpath("data", "penguins.csv").open("rb") as f:
        frame = pd.read_csv(f)
    return table_result(frame, FEATURES, TASKS, DESCR, return_X_y)
