"""How many epochs a fit trains.

``max_epochs="auto"`` (the default) chooses the count for the data at hand:

1. **select**: train on 80% of the rows (the stratified
   :class:`~skmtl.training.MultiTaskValidSplit`) for at most the budget of
   :func:`epoch_budget`, stopping ``patience`` epochs after the best
   validation score (the mean per-task accuracy; the loss for the regressor;
   ``patience="auto"``: :func:`auto_patience`);
2. **refit**: train a fresh network on all rows for that best count, its
   learning rate decaying to zero over exactly those epochs.

A noisy table stops after a few epochs and a table with much to learn uses
the whole budget, where one fixed count fits neither. The selection's
history stays as ``selection_history_``; ``max_epochs_`` is the count the
final network trained. An explicit ``early_stopping``, ``train_split`` or
integer ``max_epochs``, a warm start and ``partial_fit`` train one network,
as the parameters say. The estimator runs the two phases
(``BaseMultiTaskNet._select_then_refit``); :func:`~skmtl.training._recipe.plan`
resolves each phase's settings.

On a small table the model is a **bag** instead (``bag_folds``, :func:`bag_size`):
``BAG_FOLDS`` networks, each trained on all folds but one and stopped at
its best epoch on that one, answering with their mean probability. Fewer
than 5,000 rows leave a selection split too small to choose well and a
single network's answer noisy; the bag spends every row on both
(docs/accuracy.md).
"""

from __future__ import annotations

#: The budget of a small or mid-sized table, in epochs ...
BUDGET_EPOCHS = 40
#: ... and the rows a larger table's epochs may visit in all (about the cost
#: of a fit), with at least ``MIN_EPOCHS`` epochs.
BUDGET_ROW_VISITS = 1_200_000
MIN_EPOCHS = 8
#: The validation share of the selection run.
SELECTION_SPLIT = 0.2
#: ``patience="auto"``: the epochs without a better score that end a run ...
PATIENCE = 10
#: ... and beyond this many training rows, where an epoch is 20 steps or
#: more, half as many (docs/performance.md: the fit-cost issue).
PATIENT_ROWS = 5_000
#: ``bag_folds="auto"``: a bag of this many networks ...
BAG_FOLDS = 5
#: ... on a table of at most this many rows (where a fit costs seconds).
BAG_ROWS = 5_000


def epoch_budget(n_rows: int) -> int:
    """The most epochs ``max_epochs="auto"`` trains: 40, or fewer where 40
    epochs would visit more than 1.2 million rows: then as many as visit
    about that many, at least 8. A step costs about the same per row at any
    size, so beyond 30,000 rows a fit costs about the same."""
    return int(min(BUDGET_EPOCHS, max(MIN_EPOCHS, round(BUDGET_ROW_VISITS / max(n_rows, 1)))))


def auto_patience(n_rows: int) -> int:
    """``patience="auto"``: 10 epochs, 5 beyond 5,000 labelled rows in
    ``fit``'s data (before the selection run's split). A
    small table's validation score is coarse and needs the longer wait (5
    cost penguins, hawks and beps over a point each); a large table's
    epochs are many steps each, and the shorter wait kept every table's
    accuracy over 5,000 rows in the benchmark's both halves while its
    selection runs ended 5 epochs sooner."""
    return PATIENCE // 2 if n_rows > PATIENT_ROWS else PATIENCE


def best_epochs(history, key: str, lower_is_better: bool, tie_key: str = "valid_loss") -> int:
    """The 1-based epoch of the best ``key`` in ``history``; among equal
    bests (accuracy on a small split ties often) the one with the lowest
    ``tie_key``, then the earliest. The last epoch where no epoch has
    ``key`` (a selection split with no rows)."""
    ranked = []
    for i, row in enumerate(history):
        score = row.get(key)
        if score is None or score != score:
            continue
        tie = row.get(tie_key, 0.0)
        ranked.append(((score if lower_is_better else -score), tie if tie == tie else 0.0, i))
    if not ranked:
        return max(1, len(history))
    return min(ranked)[2] + 1
