"""The health panel: is the model using its latent space, and how good a generative model is it?
The figures of `vae-explorer health` (explorer.core.space.health), in a dock.

- What the encodings alone give (active units, KL per dimension, I(x; z), the aggregate
  posterior against the prior, prior holes: health.measure without a model) is measured on the
  compute thread (Work.HEALTH) as soon as a dataset's encodings are in.
- The log-likelihood (IWAE_K beside the ELBO, on N images) needs the model: Measure runs it on
  the model thread (Job.HEALTH), one image per step so that the cursor's decodes go first, with
  its progress and a Cancel. The images are the CLI's (health.pick_images(points, N, seed));
  image j of them draws its K samples with seed + j, where the CLI draws a batch of images'
  samples at once: the two estimates agree within their standard errors, not to the digit.

A new model or dataset clears what was shown, and an answer about an older one is never shown:
the controller drops other generations' results, and the panel keeps only answers about the
encodings it shows.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from explorer.core.data import NO_IMAGE, has_images
from explorer.core.space import health as H
from explorer.core.state.compute import Work
from explorer.core.state.explorer_state import ExplorerState
from explorer.core.steps import Progress
from explorer.worker.requests import Cancelled, Failed, Finished, Job, Progressed

DEFAULT_K, DEFAULT_N = 16, 128  # modest: about a second of a CPU's time for the bundled model
MAX_K = 1024
ESTIMATING = H.ESTIMATING
COLUMNS = ("dim", "KL", "Var(mu)", "mean(mu)", "Var q(z)")
INACTIVE_TEXT = QtGui.QColor(150, 150, 150)
FLAG_STYLE = "color: rgb(230, 90, 90)"
NO_LOGVAR = "No health figures: the data gives no posterior width (logvar), which KL, I(x; z) and q(z) need"


def likelihood_job(dataset, indices: np.ndarray, k: int, seed: int):
    """Model-thread job (start(model, device) for Controller.run_model_job): IWAE_K and ELBO of
    the data's images at `indices`, a step at a time, as `vae-explorer health` estimates them."""

    def start(model, device):
        images = dataset.images_at(indices)
        yield Progress(0, len(images), H.ESTIMATING)
        return (yield from H.importance_weighted_steps(model, images, k, seed, device))

    return start


def _nats(x: float, digits: int = 2) -> str:
    return f"{x:.{digits}f}" if math.isfinite(x) else "unknown"


FIGURES = ("Active units", "KL", "I(x; z)", "q(z) vs prior", "Prior holes")


def summary(health: H.Health) -> dict[str, tuple[str, str]]:
    """The headline figures: {name: (text, what it means)}, in FIGURES' order."""
    d, active, points = health.latent_dim, int(health.active.sum()), f"{health.n_points:,} points"
    var = health.aggregate_var
    out = {
        "Active units": (
            f"<b>{active} of {d}</b>",
            f"a dimension is active when the variance over the data of its mu exceeds {H.ACTIVE_THRESHOLD:g} "
            f"(Burda et al. 2016); on {points}",
        ),
        "KL": (
            f"{_nats(float(health.kl_per_dim.sum()))} nats per image",
            "mean KL(q(z|x) || N(0, I)) over the data, all dimensions together (per dimension: the table)",
        ),
        "I(x; z)": (
            f"≈ {_nats(health.mutual_information)} nats (at most log {health.mi_points:,} = "
            f"{math.log(max(health.mi_points, 1)):.2f})",
            f"mutual information between the data and the code, estimated on {health.mi_points:,} points "
            "(Hoffman & Johnson 2016): it cannot exceed the log of that number",
        ),
        "q(z) vs prior": (
            f"Gaussian-fit KL {_nats(health.gaussian_kl)} nats; |mean| {float(np.linalg.norm(health.mu_mean)):.2f}; "
            f"variances {float(var.min()):.2f}–{float(var.max()):.2f}",
            "the aggregate posterior q(z) (all the data's posteriors together) against the prior N(0, I), "
            "whose mean is 0 and variances 1: KL(N(m, S) || N(0, I)) of a Gaussian with q(z)'s mean and covariance",
        ),
    }
    if health.holes is not None:
        h = health.holes
        out["Prior holes"] = (
            f"{h.fraction:.1%} of {h.samples:,} prior samples far from the data",
            f"samples z ~ N(0, I) in the {len(h.dims)} active dimensions farther from every data point's mu than "
            f"{H.HOLE_PERCENTILE}% of data points are from their nearest neighbour ({h.reference:.3f})",
        )
    else:
        out["Prior holes"] = ("not measured: no dimension is active", "")
    return out


def likelihood_text(est: H.LikelihoodEstimate) -> str:
    (im, ise), (em, ese), (gm, gse) = est.iwae_mean_se, est.elbo_mean_se, est.gap_mean_se
    return (
        f"<b>log p(x) ≥ IWAE (K = {est.k}):</b> {_nats(im)} ± {_nats(ise)} nats per image "
        f"({est.n:,} images)<br><b>ELBO:</b> {_nats(em)} ± {_nats(ese)} (same samples); "
        f"IWAE − ELBO {_nats(gm)} ± {_nats(gse)}"
    )


class HealthPanel(QtWidgets.QWidget):
    dimension_chosen = QtCore.Signal(int)  # a row of the table was double-clicked: show its traversal

    def __init__(self, state: ExplorerState, controller=None, parent=None):
        """`controller` runs the log-likelihood on the model thread; without one there is no Measure."""
        super().__init__(parent)
        self.setObjectName("healthPanel")
        self.state, self.controller = state, controller
        self.health: H.Health | None = None  # what is shown (of state.encodings)
        self.seed = 0  # seeds every sample the figures draw, as `vae-explorer health --seed`
        self._job: int | None = None  # the log-likelihood estimate under way
        self._build()
        state.model_changed.connect(self.clear)
        state.data_changed.connect(self._on_data)
        self._on_data()

    # -- construction ----------------------------------------------------------------------
    def _build(self) -> None:
        self.status = QtWidgets.QLabel()  # what is happening while there are no figures
        self.status.setWordWrap(True)
        self.figures: dict[str, QtWidgets.QLabel] = {}
        self.figures_box = QtWidgets.QWidget()
        grid = QtWidgets.QGridLayout(self.figures_box)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setVerticalSpacing(2)
        grid.setColumnStretch(1, 1)
        for row, name in enumerate(FIGURES):
            value = QtWidgets.QLabel()
            value.setWordWrap(True)
            value.setTextFormat(QtCore.Qt.TextFormat.RichText)
            value.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
            grid.addWidget(QtWidgets.QLabel(f"<b>{name}</b>"), row, 0, QtCore.Qt.AlignmentFlag.AlignTop)
            grid.addWidget(value, row, 1)
            self.figures[name] = value
        self.flags = QtWidgets.QLabel()
        self.flags.setObjectName("healthFlags")
        self.flags.setWordWrap(True)
        self.table = QtWidgets.QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.horizontalHeader().setSectionResizeMode(QtWidgets.QHeaderView.ResizeMode.Stretch)
        self.table.setMinimumHeight(120)
        self.table.setToolTip(
            "each latent dimension, largest mean KL first; grey: inactive. Double-click a row to see its traversal."
        )
        self.table.cellDoubleClicked.connect(lambda row, _: self._choose(row))

        self.k = QtWidgets.QSpinBox(minimum=1, maximum=MAX_K, value=DEFAULT_K, prefix="K ")
        self.k.setToolTip("importance samples per image (1 gives the ELBO)")
        self.n = QtWidgets.QSpinBox(minimum=1, maximum=10**7, value=DEFAULT_N, prefix="N ")
        self.n.setToolTip("images in the estimate: a seeded sample of the data")
        self.measure_button = QtWidgets.QPushButton("Measure")
        self.measure_button.clicked.connect(self.measure)
        self.cancel_button = QtWidgets.QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        self.progress = QtWidgets.QProgressBar()
        self.likelihood = QtWidgets.QLabel()
        self.likelihood.setObjectName("healthLikelihood")
        self.likelihood.setWordWrap(True)
        self.likelihood.setTextFormat(QtCore.Qt.TextFormat.RichText)
        self.likelihood.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self.copy_button = QtWidgets.QPushButton("Copy all")
        self.copy_button.setToolTip("the figures as `vae-explorer health` prints them")
        self.copy_button.clicked.connect(self.copy)

        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(self.status)
        layout.addWidget(self.figures_box)
        layout.addWidget(self.flags)
        row = QtWidgets.QHBoxLayout()
        heading = QtWidgets.QLabel("<b>Log-likelihood</b>")
        heading.setToolTip("the IWAE bound on log p(x) beside the ELBO: needs the model (seconds on a CPU)")
        row.addWidget(heading)
        row.addStretch(1)
        for w in (self.k, self.n, self.measure_button, self.cancel_button):
            row.addWidget(w)
        layout.addLayout(row)
        layout.addWidget(self.progress)
        layout.addWidget(self.likelihood)
        row = QtWidgets.QHBoxLayout()
        row.addWidget(QtWidgets.QLabel("<b>Per dimension</b>, largest KL first"), stretch=1)
        row.addWidget(self.copy_button)
        layout.addLayout(row)
        layout.addWidget(self.table, stretch=1)

    # -- state -> panel --------------------------------------------------------------------
    def clear(self, text: str = "Waiting for the data's encodings …") -> None:
        """Forget what was shown (a new model or dataset); a measurement under way is left to
        be dropped (its generation is gone)."""
        self.health, self._job = None, None
        self.status.setText(text)
        self.status.show()
        self.figures_box.hide()
        for label in self.figures.values():
            label.setText("")
            label.setToolTip("")
        self.flags.setText("")
        self.table.setRowCount(0)
        self.likelihood.setText("")
        self._show_buttons()

    def _on_data(self) -> None:
        s = self.state
        self.clear()
        encodings = s.encodings
        if encodings is None:
            return
        self.n.setMaximum(max(1, len(encodings)))
        self.status.setText("measuring …")
        mu, logvar = encodings.mu, encodings.logvar

        def measure():
            if not all(np.isfinite(logvar[i : i + 65_536]).all() for i in range(0, len(logvar), 65_536)):
                return H.activity(mu)  # latents without their posterior's width: only mu's figures
            return H.measure(mu, logvar, seed=self.seed)

        def done(health) -> None:
            if encodings is not s.encodings:
                return  # of encodings swapped out meanwhile
            if isinstance(health, H.Health):
                self._show(health)
                return
            active = int((health > H.ACTIVE_THRESHOLD).sum())
            self.status.setText(
                f"{NO_LOGVAR}. {active} of {len(health)} dimensions vary over the data "
                f"(Var of mu > {H.ACTIVE_THRESHOLD:g})."
            )

        s.run(Work.HEALTH, measure, done)

    def _show(self, health: H.Health) -> None:
        self.health = health
        self.status.hide()
        self.figures_box.show()
        for name, (text, meaning) in summary(health).items():
            self.figures[name].setText(text)
            self.figures[name].setToolTip(meaning)
        flags = health.flags()
        self.flags.setText("\n".join(f"⚠ {f}" for f in flags) or "No warnings: no collapsed dimension, no prior holes.")
        self.flags.setStyleSheet(FLAG_STYLE if flags else "")
        order, active = health.kl_order, health.active
        self.table.setRowCount(len(order))
        for r, u in enumerate(order):
            values = (
                f"z{u}",
                _nats(health.kl_per_dim[u], 3),
                f"{health.activity[u]:.4f}",
                f"{health.mu_mean[u]:+.3f}",
                f"{health.aggregate_var[u]:.3f}",
            )
            for c, text in enumerate(values):
                item = QtWidgets.QTableWidgetItem(text)
                item.setData(QtCore.Qt.ItemDataRole.UserRole, int(u))
                if c:
                    item.setTextAlignment(QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter)
                if not active[u]:
                    item.setForeground(INACTIVE_TEXT)
                    item.setToolTip(f"z{u} is inactive: Var over the data of its mu is at most {H.ACTIVE_THRESHOLD:g}")
                self.table.setItem(r, c, item)
        self.likelihood.setText("" if health.likelihood is None else likelihood_text(health.likelihood))
        self._show_buttons()

    def _show_buttons(self) -> None:
        running, s = self._job is not None, self.state
        images = s.dataset is not None and has_images(s.dataset)
        can = self.health is not None and images and self.controller is not None and not running
        self.measure_button.setEnabled(can)
        self.measure_button.setToolTip(
            "estimate log p(x) (the IWAE bound) and the ELBO on N images, on the model thread"
            if images or s.dataset is None
            else f"no log-likelihood: {NO_IMAGE}"
        )
        self.measure_button.setVisible(not running)  # Cancel takes its place while it runs
        self.cancel_button.setVisible(running)
        self.progress.setVisible(running)
        self.k.setEnabled(not running)
        self.n.setEnabled(not running)
        self.copy_button.setEnabled(self.health is not None)

    # -- actions ----------------------------------------------------------------------------
    def measure(self) -> None:
        """Estimate the log-likelihood on the model thread (K and N from the spin boxes)."""
        s, health, seed = self.state, self.health, self.seed
        if health is None or self.controller is None or self._job is not None:
            return
        encodings, dataset = s.encodings, s.dataset
        indices = H.pick_images(len(dataset), self.n.value(), seed)
        start = likelihood_job(dataset, indices, self.k.value(), seed)
        request = None

        def answer(r) -> None:
            if request != self._job or encodings is not s.encodings:
                return  # cancelled, or of other data
            if isinstance(r, Progressed):
                self.progress.setRange(0, r.progress.total)
                self.progress.setValue(r.progress.done)
                self.progress.setFormat(f"{ESTIMATING}: %v / %m images")
                return
            self._job = None
            if isinstance(r, Finished):
                self._show(replace(health, likelihood=r.value))
                s.say(f"log-likelihood of {len(indices):,} images measured")
            elif isinstance(r, Cancelled):
                self.likelihood.setText("cancelled")
            elif isinstance(r, Failed):
                self.likelihood.setText(f"could not estimate it: {r.message}")
                s.say(f"error: {r.message}")
            self._show_buttons()

        request = self._job = self.controller.run_model_job(Job.HEALTH, start, answer)
        self.progress.setRange(0, 0)
        self.likelihood.setText("")
        self._show_buttons()

    def cancel(self) -> None:
        if self._job is not None and self.controller is not None:
            self.controller.worker.cancel(self._job)  # answered Cancelled at its next step

    def copy(self) -> None:
        if self.health is not None:
            QtWidgets.QApplication.clipboard().setText("\n".join(self.health.lines()) + "\n")
            self.state.say("copied the health figures")

    def _choose(self, row: int) -> None:
        item = self.table.item(row, 0)
        if item is not None:
            self.dimension_chosen.emit(int(item.data(QtCore.Qt.ItemDataRole.UserRole)))
