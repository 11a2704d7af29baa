"""The order of the gallery pages: from the first fit to the diagnostics."""

from __future__ import annotations

from pathlib import Path

ORDER = [
    "plot_quickstart.py",
    "plot_missing_labels.py",
    "plot_grid_search.py",
    "plot_packed_search.py",
    "plot_cnn_digits.py",
    "plot_sparse_text.py",
    "plot_task_relations.py",
    "plot_diagnostics.py",
]


class GalleryOrder:
    """Sort key of sphinx-gallery's ``within_subsection_order``: the files in
    :data:`ORDER` first, in that order, then any other by name."""

    def __init__(self, src_dir: str):
        self.src_dir = src_dir

    def __call__(self, filename: str) -> tuple[int, str]:
        name = Path(filename).name
        return (ORDER.index(name) if name in ORDER else len(ORDER), name)

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"
