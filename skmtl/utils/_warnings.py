"""Where a warning points: at the user's code, however deep inside skmtl it is raised."""

from __future__ import annotations

import sys

#: Packages whose frames a warning skips on its way to the user's code.
_INSIDE = ("skmtl.", "skorch.")


def user_stacklevel() -> int:
    """The ``stacklevel`` for a ``warnings.warn`` in the calling function that
    points at the first frame outside skmtl (and skorch, which calls back
    into skmtl's hooks): the user's call of ``fit``, say."""
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_globals.get("__name__", "").startswith(_INSIDE):
        frame, level = frame.f_back, level + 1
    return level
