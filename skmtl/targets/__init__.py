"""Multi-task targets ``Y``: reading its four kinds, missing labels, and the class codes."""

from ._encoder import MISSING, UNKNOWN, EncodedTargets, TaskEncoder, encoded, labelled, read_tasks

__all__ = [
    "EncodedTargets",
    "MISSING",
    "TaskEncoder",
    "UNKNOWN",
    "encoded",
    "labelled",
    "read_tasks",
]
