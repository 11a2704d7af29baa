"""The multi-task classifier: a skorch ``NeuralNet`` with one head per task."""

from __future__ import annotations

import numpy as np
import torch
from sklearn.base import ClassifierMixin

from ..training import forward_logits
from ._base import BaseMultiTaskNet
from ._views import TaskViews


class MultiTaskClassifier(ClassifierMixin, TaskViews, BaseMultiTaskNet):
    """One neural network, a shared trunk and a head per task, as a scikit-learn classifier.

    A subclass of skorch's :class:`~skorch.NeuralNet`: callbacks, ``optimizer__*``,
    ``iterator_train__*``, ``train_split``, ``warm_start``, ``partial_fit``,
    ``history``, ``module__*`` and ``save_params``/``load_params`` work as in
    skorch. What skmtl adds: targets given as a dict of tasks, a DataFrame, or a
    2-D or 1-D array, with missing labels; outputs in the same kind; a masked,
    weighted sum of per-task cross-entropies; a validation split that works
    with several tasks; ``device="auto"``; and ``random_state``.

    Parameters
    ----------
    module : torch.nn.Module class or instance, default=None
        The shared trunk. ``None`` builds :class:`~skmtl.nn.MLPTrunk` from
        ``hidden_units``, ``dropout`` and ``activation``. Any module mapping a
        batch of ``X`` to a ``(batch, features)`` tensor works; skmtl adds the
        heads. With a custom trunk ``X`` may have any sample shape: images
        ``(n, C, H, W)`` for a CNN, sequences ``(n, T, F)`` for an RNN.
        Arguments go as ``module__name=value``; a trunk whose constructor
        takes ``in_features`` receives ``n_features_in_`` unless given. A
        module instance is copied at each fit, so your object is never
        trained in place and every fit starts from its weights.
    hidden_units : tuple of int or "auto", default="auto"
        Hidden layer widths of the default trunk. ``"auto"``: three layers
        of 256, or of 512 beyond 50,000 training rows
        (:func:`~skmtl.training._recipe.auto_hidden_units`); ``hidden_units_`` holds
        the widths used.
    dropout : float, default=0.15
        Dropout after each hidden layer of the default trunk.
    activation : str or torch.nn.Module class, default="relu"
        Activation of the default trunk (``"relu"``, ``"gelu"``, ``"silu"``, ...).
    norm : {None, "batch", "layer"}, default=None
        Normalisation after each hidden layer of the default trunk and experts.
    numeric_embedding : {"auto", "piecewise_linear", "periodic", None}, default="auto"
        How the default trunk (and each expert) takes each column with more
        than two values; 0/1 columns pass through. ``"piecewise_linear"``:
        the column's position among ``n_bins`` quantile bins of the training
        data, mapped to 16 numbers by a learned per-column map
        (:class:`~skmtl.nn.PiecewiseLinearEmbedding`, on
        ``rtdl_num_embeddings``); it lets the MLP fit the sharp functions of
        single features that trees find easily. ``"periodic"``: learned
        periodic features (:class:`~skmtl.nn.PeriodicEmbedding`).
        ``None``: the features feed the first layer directly. ``"auto"``:
        ``"piecewise_linear"`` for a dense 2-D ``X`` with at most
        :data:`~skmtl.training._recipe.MAX_EMBEDDED_COLUMNS` (256) such columns and
        skmtl's own MLP, else ``None`` (sparse or N-D ``X``, a custom
        ``module``, wider tables). An explicit embedding where it cannot
        apply is an error. ``module__embedding_dim`` sets the 16.
    n_bins : int, default=48
        Quantile bins per column of the piecewise-linear embedding (at most
        one per two training rows).
    ensemble_size : int, default=None
        ``k > 1`` trains the default trunk as ``k`` members of a packed
        ensemble in TabM's style (the ``tabm`` package's BatchEnsemble
        layers, ``pip install skmtl[tabm]``): shared weights, per-member
        scalings, one fused forward pass of about ``k`` times the cost.
        Training averages the members' losses, ``predict_proba`` their
        probabilities (:class:`~skmtl.nn.MLPTrunk`).
    bag_folds : int, "auto" or None, default="auto"
        A bag of networks instead of one: the rows are cut into
        ``bag_folds`` folds (stratified where the labels allow) and the
        ``i``-th network trains on all but the ``i``-th fold, stopping
        ``patience`` epochs after its best score there and keeping that
        epoch's weights; the model answers with the networks' mean
        probability (:class:`~skmtl.nn.BaggedModule`). Five networks cost
        2.3x to 3.5x the seconds of one on the benchmark's small tables,
        and are more accurate there (docs/accuracy.md). ``"auto"``: 5
        where the fit would choose its own epochs (``max_epochs="auto"``
        with the default ``train_split`` and ``early_stopping``) on 5 to
        5,000 labelled rows, without ``ensemble_size``; one network
        otherwise. ``None``: always one network. An int bags within the
        ``max_epochs`` budget in ``fit``, and refuses a ``train_split``, a
        ``Checkpoint`` callback (each network trains in a run of its own,
        and the callbacks see one at a time), a first ``partial_fit`` and
        fewer labelled rows than folds. A ``partial_fit`` or warm ``fit``
        after a bag trains every network.
    feature_scaling : {"auto", "quantile", "standard", "robust", "maxabs", None}, default="auto"
        Scaling of the features, fitted on the training data in ``fit`` and
        applied to every input after it: ``"quantile"`` maps each column
        with more than two values through its empirical distribution to a
        standard normal, robust to skew, outliers and units, and leaves 0/1
        columns as they are
        (:class:`~skmtl.data.TabularQuantileTransformer`);
        ``"standard"``, ``"robust"`` and ``"maxabs"`` are scikit-learn's
        scalers (``"maxabs"`` keeps sparse ``X`` sparse). ``"auto"``:
        ``"quantile"`` for a dense 2-D ``X``; no scaling for sparse ``X``
        (TF-IDF and counts are on a common scale already) or N-D ``X``
        (normalise images or sequences in the trunk). Scaling N-D ``X``, or
        a scaler that would densify sparse ``X``, is an error.
    early_stopping : bool or str, default=False
        ``True``: hold out a validation split, stop once its score has not
        improved for ``patience`` epochs, and restore the weights of the
        best epoch (skorch's ``EarlyStopping(load_best=True)``); ``True``
        watches ``valid_acc`` (the mean per-task validation accuracy), a
        string names another history key, e.g. ``"valid_loss"`` or
        ``"valid_acc_<task>"``. ``False``: no early stopping; the default
        ``max_epochs="auto"`` still chooses the epoch count on a split.
    patience : int or "auto", default="auto"
        Epochs without improvement before early stopping, and before the
        epoch count's selection run of ``max_epochs="auto"`` ends.
        ``"auto"``: 10, or 5 where ``fit`` gets more than 5,000 labelled
        rows, whose epochs are many steps each (``recipe_.patience`` holds
        the count in use).
    lr_schedule : {"linear", "cosine", "plateau", None}, default="linear"
        ``"linear"``: the learning rate decays linearly to zero over the
        fit's epochs; ``"cosine"``: along a half cosine
        (:class:`~skmtl.training.EpochDecay`; a fit resumed before the end
        takes the decay up where it stopped). ``"plateau"``: divide it by 5
        after ``patience // 3`` epochs without improvement of the watched
        score (the training loss without a validation split). ``None``:
        constant. A skorch ``LRScheduler`` in ``callbacks`` replaces it.
    weight_decay : float, default=1e-4
        Decoupled weight decay of the default AdamW optimizer (passed as
        ``weight_decay`` to any optimizer; ``optimizer__weight_decay`` wins).
    task_weights : dict, default=None
        ``{task: weight}`` in the joint loss; tasks left out weigh 1.
    task_weighting : str or TaskWeighting, default="equal"
        How the task losses train the shared network: ``"equal"`` (their
        sum), ``"uncertainty"``, ``"dwa"``, ``"famo"`` (one backward each), or
        ``"gradnorm"``, ``"pcgrad"``, ``"mgda"`` (per-task gradients on the
        shared representation), or a :class:`~skmtl.nn.TaskWeighting`.
        The weights used each epoch are logged as ``weight_<task>``.
    architecture : {"shared", "mmoe", "ple"}, default="shared"
        ``"shared"``: one trunk (``module`` or the default MLP) and a head per
        task. ``"mmoe"``: shared MLP experts mixed by a gate per task
        (:class:`~skmtl.nn.MMoE`). ``"ple"``: shared and
        task-specific experts (:class:`~skmtl.nn.PLE`). Expert
        options go as ``module__n_experts=8`` and the like.
    affinity_every : int, default=64
        Every this many training steps, measure the cosine similarity of the
        task gradients on the shared representation (for ``task_affinity_``);
        ``0`` never does.
    task_types : str or dict, default=None
        The type of each task: ``None`` or ``"classification"`` (all tasks),
        ``{task: "regression"}`` to mix numeric tasks in (the rest stay
        classification), or ``"infer"`` (regression where scikit-learn's
        ``type_of_target`` says continuous). A regression task is trained on
        standardised targets with ``regression_loss``, predicted as numbers,
        scored by R^2 and left out of ``predict_proba`` and ``classes_``.
    regression_loss : {"mse", "huber"}, default="mse"
        The loss of regression tasks.
    classes : dict, default=None
        ``{task: labels}`` fixing a task's classes and their order up front, so
        that ``predict_proba`` columns are the same in every CV fold. For 1-D
        ``Y`` a plain list is accepted. Other tasks take their classes from the
        data, sorted.
    task_names : list, default=None
        Names of the columns of an array ``Y`` (default ``task_0``, ``task_1``,
        ...), one per column. Must stay ``None`` for a dict or DataFrame ``Y``,
        which name their tasks.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, shuffling, dropout and the validation
        split: with an int, training on the CPU is repeatable bit for bit.
        The global torch random state is left untouched.
    data_on_device : {"auto", True, False}, default="auto"
        The fast data path: array input is moved to the training device once
        per fit and batched by slicing a ``torch.randperm`` permutation, with
        no per-row ``Dataset`` indexing or collation. ``"auto"`` uses it
        unless a custom dataset or ``DataLoader`` option asks for skorch's
        path, or (on CUDA) the data would take over half of the free GPU
        memory; ``True`` skips that memory check; ``False`` always uses
        skorch's ``Dataset``/``DataLoader``.
    mixed_precision : {"auto", True, False}, default="auto"
        bf16 autocast for the forward pass. ``"auto"``: on CUDA devices that
        support bf16, off on the CPU. Losses are computed in float32.
    fused_optimizer : {"auto", True, False}, default="auto"
        Pass ``fused=True`` to an optimizer that accepts it (Adam, AdamW,
        SGD, ...). ``"auto"``: on CUDA, and on the CPU for torch's own
        optimizers; never with sparse gradients (``nn.Embedding(sparse=True)``),
        complex parameters or ``optimizer__differentiable=True``, which the
        fused kernels refuse. Ignored when you set ``optimizer__fused`` or
        ``optimizer__foreach`` yourself.
    predict_batch_size : int, default=8192
        Rows per forward pass in ``predict``/``predict_proba`` on the fast
        path; ``-1`` for all rows at once.
    criterion : torch loss class, default=torch.nn.CrossEntropyLoss
        Per-task loss, called with ``reduction="none"``; skmtl averages it over
        each task's labelled rows. ``criterion__label_smoothing=0.1`` etc. work.
    optimizer : torch optimizer class, default=torch.optim.AdamW
    lr : float, default=2e-3
    max_epochs : int or "auto", default="auto"
        The epochs of a fit. ``"auto"`` chooses them (:mod:`skmtl.training._epochs`): a
        selection run on 80% of the rows, at most 40 epochs (fewer beyond
        30,000 rows, so that a fit visits about 1.2 million rows), stops
        ``patience`` epochs after the best mean validation accuracy; then a
        fresh network trains on every row for that best count. An int
        trains that many epochs on every row (unless ``early_stopping``).
        ``max_epochs_`` holds the count trained; ``selection_history_`` the
        selection run's history.
    batch_size : int or "auto", default="auto"
        Rows per training step. ``"auto"``: the power of two nearest a tenth
        of the training rows, between 16 and 256, so every epoch of a small
        table has about ten steps.
    train_split : "auto", callable or None, default="auto"
        The internal validation split behind ``valid_loss`` and ``valid_acc``.
        ``"auto"``: a stratified 20% (:class:`~skmtl.training.MultiTaskValidSplit`)
        for early stopping and the epoch selection, none otherwise. ``None``
        trains on all rows.
    n_threads : int, "auto" or None, default="auto"
        Torch's CPU threads during fit, restored afterwards. ``"auto"``:
        torch's own count (``OMP_NUM_THREADS`` or the physical cores), at
        most the cores the process may use; ``None``: as torch is set. On a
        machine other work keeps busy, ``1`` is faster and steadier.
    device : str or torch.device, default="auto"
        ``"auto"`` uses CUDA when available, else the CPU. Reading
        ``clf.device`` gives the device in use; ``get_params`` keeps ``"auto"``.
    verbose : int, default=0
        ``1`` prints skorch's table of losses per epoch.
    **kwargs
        Any other :class:`~skorch.NeuralNet` argument, e.g. ``callbacks``,
        ``warm_start``, ``iterator_train__shuffle``, ``optimizer__weight_decay``.

    Attributes
    ----------
    tasks_ : list
        Task names, in column order.
    classes_ : dict or ndarray
        ``{task: labels}``; ``predict_proba`` columns follow it. A plain array
        when ``Y`` was 1-D.
    n_features_in_ : int
        Number of features seen in fit (for N-D ``X``, the flattened width).
    input_shape_ : tuple
        Only for N-D ``X``: the shape of one sample seen in fit, e.g.
        ``(1, 8, 8)``; ``predict`` checks it.
    feature_scaler_ : transformer or None
        The fitted ``feature_scaling``.
    embedded_columns_ : list of int or None
        The columns of the numeric embedding, or None without one.
    embedding_bins_ : list of list of float or None
        The quantile bin edges of each embedded column
        (``numeric_embedding="piecewise_linear"``).
    hidden_units_ : tuple of int
        The hidden widths of the default trunk (``hidden_units`` resolved).
    max_epochs_ : int
        The epochs the last fit trained (``max_epochs`` resolved).
    selection_history_ : History
        With ``max_epochs="auto"``: the history of the selection run that
        chose ``max_epochs_``, with its validation scores.
    bag_size_ : int
        Only for a bag (``bag_folds``): its number of networks.
        ``max_epochs_`` is then the median of their best epochs.
    bag_histories_ : list of History
        Only for a bag: each network's history, with the validation scores
        on its fold; ``history_`` is the last one's.
    weighting_ : TaskWeighting
        The fitted ``task_weighting`` strategy, a criterion of the net (its
        parameters are trained by the optimizer).
    feature_names_in_ : ndarray of str
        Column names of ``X``, when it had string column names.
    target_encoder_ : TaskEncoder
        Encodes ``Y`` to class codes and predictions back.
    task_weights_ : ndarray of shape (n_tasks,)
        The static weight of each task's loss.
    task_affinity_ : DataFrame of shape (n_tasks, n_tasks)
        Mean cosine similarity of the task gradients on the shared
        representation, over the steps sampled during training (every
        ``affinity_every``-th). Near 1: the tasks push the trunk the same
        way; near 0: independently; negative: they pull it apart, a sign of
        negative transfer (try another ``task_weighting`` or
        ``architecture``, or separate models). NaN if never measured.
    module_, criterion_, optimizer_, history_, callbacks_
        As in skorch. The history holds per-task columns, recorded by the
        ``task_history`` callback (:class:`~skmtl.training.TaskHistory`).

    See Also
    --------
    sklearn.multioutput.MultiOutputClassifier : One independent model per task.

    Notes
    -----
    ``score`` is the mean over tasks of each task's accuracy on the rows
    labelled for it (R^2 for a regression task). ``MultiOutputClassifier.score``
    is subset accuracy (a row counts only if every task is right); that is
    undefined for a row with a missing label and is dominated by the hardest
    task, whereas the mean per-task accuracy uses every label there is and
    splits into the per-task scores of :meth:`score_tasks`.

    Examples
    --------
    >>> from skmtl import MultiTaskClassifier
    >>> from skmtl.datasets import load_penguins
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.impute import SimpleImputer
    >>> from sklearn.preprocessing import StandardScaler
    >>> X, Y = load_penguins(return_X_y=True)
    >>> model = make_pipeline(SimpleImputer(), StandardScaler(),
    ...                       MultiTaskClassifier(max_epochs=5, random_state=0))
    >>> model.fit(X, Y).predict(X.head(2)).columns.tolist()
    ['species', 'sex', 'island']
    """

    # accuracy is what a classifier is judged by; the loss keeps falling on
    # epochs that no longer change a prediction
    _default_monitor = "valid_acc"

    # scikit-learn's ClassifierMixin.score comes first in the MRO and knows one task
    score = BaseMultiTaskNet.score

    def predict_proba(self, X) -> dict | np.ndarray:
        """Class probabilities of each task.

        Parameters
        ----------
        X : array-like, sparse matrix or N-D array of shape (n_samples, ...)

        Returns
        -------
        dict or ndarray
            ``{task: ndarray of shape (n_samples, n_classes_task)}``, columns in
            the order of ``classes_[task]``; for a model fitted on 1-D ``Y``, one
            ``(n_samples, n_classes)`` array, as any scikit-learn classifier.
        """
        logits = forward_logits(self, self._checked(X))
        regression = self.target_encoder_.regression_
        logits = [out for out, reg in zip(logits, regression, strict=True) if not reg]
        if not logits:
            raise AttributeError(
                f"{type(self).__name__} has no classification task to give probabilities for."
            )
        probas = torch.cat([torch.softmax(out.float(), dim=1) for out in logits], dim=1)
        widths = np.cumsum([out.shape[1] for out in logits])[:-1]
        return self.target_encoder_.format_proba(np.split(probas.cpu().numpy(), widths, axis=1))
