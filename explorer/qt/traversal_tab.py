"""The strip panel's Traversal tab: one row per latent dimension (sorted by KL, inactive ones
marked), each sweeping its own dimension over a range from a base latent, every other dimension
kept (explorer.core.figures.traversal); a live preview, and Export… writing what
`vae-explorer traverse` writes (PNG, GIF or APNG and its JSON sidecar).

Off the GUI thread, as the strip's preview: the traversal is built on the compute thread
(Work.TRAVERSAL: per-dimension statistics and quantiles over every point, and the data support),
decoded on the model thread (Slot.TRAVERSAL: a newer traversal replaces a pending decode) and
laid out on the compute thread (Work.TRAVERSAL_LAYOUT). Nothing is built while the tab is hidden.

The base is the data's mean mu, the pinned point (as the attribute sliders move it: what the
decoder shows), or a random data point: the one `vae-explorer traverse --base random --seed S`
picks. Rows: every dimension, the R with the largest KL, only the active ones, or the dimensions
named (show_dimension(d) names one).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from explorer.core.figures import traversal as T
from explorer.core.figures.compose import Layout
from explorer.core.figures.export import Animation
from explorer.core.figures.figure import MAX_SIDE, MAX_SWEEP, Provenance
from explorer.core.state.compute import Work
from explorer.core.state.explorer_state import ExplorerState
from explorer.core.state.slots import Slot
from explorer.qt.dialogs import warn
from explorer.qt.image_view import ImageView
from explorer.qt.strip_panel import (
    MIN_PREVIEW_TILE,
    add_labelled,
    ask_figure_path,
    background_style,
    mark_off_data,
    preview_minimum,
    settings_tabs,
    spin,
)
from explorer_models.errors import UserInputError

PINNED, RANDOM = "pinned", "random"  # the window's bases beside T.MEAN (T.LATENT and T.POINT in the spec)
RANGE_NAMES = {T.SIGMA: "± prior σ", T.FIXED: "fixed values", T.QUANTILES: "data quantiles"}
BASE_NAMES = {T.MEAN: "data mean", PINNED: "pinned point", RANDOM: "random data point"}
NOT_READY = "the dataset is still being encoded"
NO_PIN = "pin a point on the map first (click it), or choose another base"


@dataclass(frozen=True, eq=False)
class TraversalRequest:
    """What the tab asks the compute thread to build."""

    spec: T.TraversalSpec  # dims: the ones named, or None (then chosen by rows and only_active)
    rows: int = 0  # 0: every dimension; else the `rows` dimensions with the largest KL
    only_active: bool = False  # leave out the inactive dimensions
    latent: np.ndarray | None = None  # the base when spec.base is T.LATENT (the pinned point)


def random_index(seed: int, n: int) -> int:
    """The data point `vae-explorer traverse --base random --seed seed` starts from."""
    return int(np.random.default_rng(seed).integers(n))


def parse_dims(text: str) -> tuple[int, ...] | None:
    """'' or 'all' -> None; '3' or '0, 3, 5' -> (0, 3, 5). TraversalError if it is neither."""
    text = text.strip()
    if text in ("", "all"):
        return None
    try:
        dims = tuple(int(v) for v in text.replace(" ", "").split(","))
    except ValueError:
        raise T.TraversalError(f"dims {text!r}: give dimension numbers such as 3 or 0,3,5") from None
    if any(d < 0 for d in dims):
        raise T.TraversalError(f"dims {text!r}: dimension numbers are 0 or more")
    return T.TraversalSpec(dims=dims).check().dims  # a dimension named twice is refused there


def build(request: TraversalRequest, mu: np.ndarray, logvar: np.ndarray) -> T.Traversal:
    """The traversal `request` asks for (Qt-free; on the compute thread). Rows chosen by count or
    activity become the spec's dims, largest KL first, so its sidecar names them. Data without
    logvar has no KL: its rows are sorted by index."""
    spec = request.spec
    kl, _, variance = T.dimension_stats(mu, logvar)
    by_kl = bool(np.isfinite(kl).all())
    if spec.dims is None and (request.rows or request.only_active):
        dims = [u for u in range(len(kl)) if not request.only_active or variance[u] > T.ACTIVE_UNIT_VARIANCE]
        if not dims:
            raise T.TraversalError(
                f"no dimension is active (Var over the data of mu_u > {T.ACTIVE_UNIT_VARIANCE:g}): untick 'only active'"
            )
        if by_kl:
            dims.sort(key=lambda u: (-kl[u], u))
        spec = replace(spec, dims=tuple(dims[: request.rows or None]))
    if not by_kl:
        spec = replace(spec, sort=T.INDEX)
    return T.build(spec, mu, logvar, request.latent)


def _double(low: float, high: float, value: float, step: float, tip: str, decimals: int = 2):
    box = QtWidgets.QDoubleSpinBox(minimum=low, maximum=high, value=value, singleStep=step, decimals=decimals)
    box.setToolTip(tip)
    return box


class TraversalTab(QtWidgets.QWidget):
    def __init__(self, state: ExplorerState, controller=None, parent=None):
        """`controller` decodes on the model thread (Controller.decode); without one nothing is decoded."""
        super().__init__(parent)
        self.setObjectName("traversalTab")
        self.state, self.controller = state, controller
        self.traversal: T.Traversal | None = None  # the one shown (or being decoded)
        self.support = None  # its data support
        self.problem = NOT_READY  # why there is none ("" when there is)
        self.preview_composite = None  # the preview's figure (scale 1, no red frames)
        self.preview_traversal: T.Traversal | None = None  # the traversal the preview shows
        self._asked: TraversalRequest | None = None  # the newest build asked for
        self._asked_latents: np.ndarray | None = None  # the newest decode asked for
        self._dirty = True  # something changed while the tab was hidden
        self._pending_export: str | None = None
        self._background = Layout().background
        self._built_for = None  # the data-support meter (of the encodings) the last build was made with
        self._dims_built = ""  # the dims field's text at the last build
        self._build()
        self._connect()
        self._on_model()

    # -- construction ----------------------------------------------------------------------
    def _build(self) -> None:
        spec = T.TraversalSpec()
        self.range_kind = QtWidgets.QComboBox()
        for kind, name in RANGE_NAMES.items():
            self.range_kind.addItem(name, kind)
        self.range_kind.setToolTip(
            "what each row sweeps its dimension over: the base's value ± R prior standard deviations, "
            "the same fixed values in every row, or the data's own quantiles q .. 1 - q of that dimension"
        )
        self.sigmas = _double(0.1, MAX_SWEEP, spec.sigmas, 0.5, "base - R .. base + R, in prior standard deviations")
        self.sigmas.setPrefix("± ")
        self.sigmas.setSuffix(" σ")
        self.lo = _double(-MAX_SWEEP, MAX_SWEEP, spec.lo, 0.5, "the first value of every dimension")
        self.hi = _double(-MAX_SWEEP, MAX_SWEEP, spec.hi, 0.5, "the last value of every dimension")
        self.quantile = _double(0, 0.49, spec.quantile, 0.01, "from the data's quantile q to 1 - q of mu_u", 3)
        self.quantile.setPrefix("q ")
        self.range_values = QtWidgets.QStackedWidget()  # one page per range kind, in RANGE_NAMES' order
        fixed = QtWidgets.QWidget()
        pair = QtWidgets.QHBoxLayout(fixed)
        pair.setContentsMargins(0, 0, 0, 0)
        pair.addWidget(self.lo)
        pair.addWidget(QtWidgets.QLabel("to"))
        pair.addWidget(self.hi)
        for page in (self.sigmas, fixed, self.quantile):
            self.range_values.addWidget(page)
        self.range_values.setSizePolicy(QtWidgets.QSizePolicy.Policy.Preferred, QtWidgets.QSizePolicy.Policy.Maximum)

        self.base = QtWidgets.QComboBox()
        for base, name in BASE_NAMES.items():
            self.base.addItem(name, base)
        self.base.setToolTip(
            "the latent every row starts from: the data's mean mu, the pinned point (as the sliders "
            "move it), or a random data point's mu"
        )
        self.seed = spin(0, 2**31 - 1, 0, "which random data point (vae-explorer traverse --base random --seed)")
        self.seed.setPrefix("seed ")
        self.columns = spin(2, MAX_SIDE, spec.columns, "values per dimension")
        self.rows = spin(0, 1, 0, "the dimensions with the largest KL (all: every one)")
        self.rows.setSpecialValueText("all")
        self.only_active = QtWidgets.QCheckBox("Only active")
        self.only_active.setToolTip(
            f"leave out inactive dimensions (Var over the data of mu_u <= {T.ACTIVE_UNIT_VARIANCE:g})"
        )
        self.dims = QtWidgets.QLineEdit()
        self.dims.setPlaceholderText("dims, e.g. 3 or 0,3,5")
        self.dims.setClearButtonEnabled(True)
        self.dims.setToolTip("show only these dimensions (largest KL first); empty: choose by rows")

        self.labels = QtWidgets.QCheckBox("Row labels")
        self.labels.setChecked(True)
        self.labels.setToolTip("each row's dimension, mean KL and whether it is inactive, on the left")
        self.captions = QtWidgets.QCheckBox("Captions")
        self.captions.setToolTip("a title line and each image's value")
        self.background = QtWidgets.QPushButton("Background")
        self.padding = spin(0, 64, Layout().padding, "pixels between images", " px")
        self.scale = spin(1, 16, Layout().scale, "each image pixel as scale x scale pixels (export)", "x")
        self.duration = spin(10, 5000, Animation().duration_ms, "GIF / APNG: one frame per column", " ms")
        self.pingpong = QtWidgets.QCheckBox("Ping-pong")
        self.pingpong.setToolTip("GIF / APNG: play forward, then back")
        self.export_button = QtWidgets.QPushButton("Export…")
        self.export_button.setToolTip("PNG, GIF or APNG, with a JSON sidecar, as vae-explorer traverse writes (Ctrl+E)")

        self.preview = ImageView(min_size=32, preferred=160)
        self.preview.setObjectName("traversalPreview")
        self.preview_scroll = QtWidgets.QScrollArea(widgetResizable=True)
        self.preview_scroll.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        self.preview_scroll.setWidget(self.preview)
        self.info = QtWidgets.QLabel(NOT_READY)
        self.info.setWordWrap(True)

        what = QtWidgets.QGridLayout()
        what.setVerticalSpacing(3)
        what.addWidget(QtWidgets.QLabel("range"), 0, 0)
        what.addWidget(self.range_kind, 0, 1)
        what.addWidget(self.range_values, 0, 2, 1, 2)
        what.addWidget(QtWidgets.QLabel("base"), 1, 0)
        what.addWidget(self.base, 1, 1)
        what.addWidget(self.seed, 1, 2, 1, 2)
        what.addWidget(QtWidgets.QLabel("columns"), 2, 0)
        what.addWidget(self.columns, 2, 1)
        what.addWidget(QtWidgets.QLabel("rows"), 2, 2)
        what.addWidget(self.rows, 2, 3)
        what.addWidget(self.only_active, 3, 0, 1, 2)
        what.addWidget(self.dims, 3, 2, 1, 2)
        what.setRowStretch(4, 1)

        look = QtWidgets.QGridLayout()
        look.setVerticalSpacing(3)
        look.addWidget(self.labels, 0, 0, 1, 2)
        look.addWidget(self.captions, 0, 2)
        look.addWidget(self.background, 0, 3)
        add_labelled(look, 1, (("padding", self.padding), ("scale", self.scale), ("frame", self.duration)))
        look.addWidget(self.pingpong, 2, 2, 1, 2)
        look.setRowStretch(3, 1)

        self.tabs = settings_tabs((("Rows and range", what), ("Layout and animation", look)), self.export_button)

        right = QtWidgets.QVBoxLayout()
        right.addWidget(self.preview_scroll, stretch=1)
        right.addWidget(self.info)
        layout = QtWidgets.QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.tabs)
        layout.addLayout(right, stretch=1)

    def _connect(self) -> None:
        for box in (self.sigmas, self.lo, self.hi, self.quantile, self.columns, self.rows, self.seed):
            box.valueChanged.connect(self._rebuild)
        for combo in (self.range_kind, self.base):
            combo.currentIndexChanged.connect(self._rebuild)
        self.only_active.toggled.connect(self._rebuild)
        self.dims.editingFinished.connect(self._rebuild_if_dims_changed)
        self.dims.textChanged.connect(self._on_dims_text)
        for box in (self.padding, self.scale):
            box.valueChanged.connect(self._lay_out)
        for box in (self.labels, self.captions):
            box.toggled.connect(self._lay_out)
        self.background.clicked.connect(self._ask_background)
        self.export_button.clicked.connect(self.ask_export)
        s = self.state
        s.model_changed.connect(self._on_model)
        s.data_changed.connect(self._on_data)
        s.projection_changed.connect(self._on_map)
        s.pinned_changed.connect(self._on_pin)
        s.offsets_changed.connect(self._on_pin)
        s.decoded_changed.connect(self._on_decoded)
        self._show_controls()

    # -- what the user sees ----------------------------------------------------------------
    def _show_controls(self) -> None:
        self.range_values.setCurrentIndex(self.range_kind.currentIndex())
        self.seed.setEnabled(self.base.currentData() == RANDOM)
        named = bool(self.dims.text().strip())
        self.rows.setEnabled(not named)
        self.only_active.setEnabled(not named)
        self.background.setStyleSheet(background_style(self._background))

    def _on_dims_text(self, text: str) -> None:
        self._show_controls()
        if not text.strip() and self._dims_built:  # the clear button: back to rows chosen by count
            self._rebuild_if_dims_changed()

    def _rebuild_if_dims_changed(self) -> None:
        if self.dims.text().strip() != self._dims_built:
            self._rebuild()

    def _show_problem(self, problem: str) -> None:
        self.problem, self.traversal, self.support = problem, None, None
        self.preview_composite = self.preview_traversal = None
        self.preview.set_image(None)
        self.preview.setMinimumSize(32, 32)
        self.info.setText(problem)
        self.info.setToolTip("")
        self.info.setStyleSheet("")

    def show_dimension(self, dim: int) -> None:
        """Show dimension `dim` alone (the dims field names it; clear it to see every row)."""
        self.dims.setText(str(int(dim)))
        self._rebuild()

    # -- state -> the tab ------------------------------------------------------------------
    def _on_model(self) -> None:
        with QtCore.QSignalBlocker(self.rows):
            self.rows.setMaximum(max(1, self.state.latent_dim))
        self.rows.setToolTip(
            f"the dimensions with the largest KL (all: every one of {self.state.latent_dim})"
            if self.state.latent_dim
            else "the dimensions with the largest KL (all: every one)"
        )

    def _on_data(self) -> None:
        """New encodings (or none): what was shown is of other data."""
        self._asked = self._asked_latents = None
        self._pending_export = None
        self._built_for = None
        self._show_problem(NOT_READY)
        self._rebuild()

    def _on_map(self) -> None:
        # the first map of new encodings brings their data-support meter; later maps change nothing here
        if self.state.latent_space is not None and self._built_for is not self.state.latent_space:
            self._rebuild()

    def _on_pin(self, *_) -> None:
        if self.base.currentData() == PINNED:
            self._rebuild()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._dirty:
            self._rebuild()

    # -- the figure: built (compute thread), decoded (model thread), laid out (compute) -----
    def request(self) -> TraversalRequest:
        """The request the controls describe; TraversalError if they describe none."""
        s, kind, base = self.state, self.range_kind.currentData(), self.base.currentData()
        fields = dict(range=kind, columns=self.columns.value(), dims=parse_dims(self.dims.text()))
        if kind == T.FIXED:
            fields.update(lo=self.lo.value(), hi=self.hi.value())
        elif kind == T.SIGMA:
            fields.update(sigmas=self.sigmas.value())
        else:
            fields.update(quantile=self.quantile.value())
        latent = None
        if base == PINNED:
            latent = s.moved_latent
            if latent is None:
                raise T.TraversalError(NO_PIN)
            fields.update(base=T.LATENT)
        elif base == RANDOM:
            fields.update(base=T.POINT, index=random_index(self.seed.value(), len(s.encodings)))
        spec = T.TraversalSpec(**fields).check()
        return TraversalRequest(spec, self.rows.value(), self.only_active.isChecked(), latent)

    def _rebuild(self, *_) -> None:
        self._show_controls()
        self._dirty = True
        if not self.isVisible():
            return  # built when the tab is shown
        self._dirty = False
        s = self.state
        if s.encodings is None or s.latent_space is None:
            self._show_problem(NOT_READY)
            return
        try:
            request = self.request()
        except UserInputError as e:
            self._asked = None
            self._show_problem(str(e))
            return
        self._dims_built = self.dims.text().strip()
        self._asked = request
        encodings, space = s.encodings, s.latent_space
        self._built_for = space

        def compute():
            try:
                traversal = build(request, encodings.mu, encodings.logvar)
            except UserInputError as e:
                return str(e)
            return traversal, space.meter(traversal.latents)

        s.run(Work.TRAVERSAL, compute, lambda answer: self._on_built(request, encodings, answer))

    def _on_built(self, request: TraversalRequest, encodings, answer) -> None:
        if request is not self._asked or encodings is not self.state.encodings:
            return  # asked again since, or of other data
        if isinstance(answer, str):
            self._show_problem(answer)
            return
        self.traversal, self.support = answer
        self.problem = ""
        t, support = self.traversal, self.support
        off = int(support.off_data.sum())
        where = f"{off} off the data (framed in red)" if off else "all within the data"
        base = t.base_source if t.base_source.startswith("data point") else f"the {t.base_source}"
        self.info.setText(f"{len(t.rows)} × {t.spec.columns} images from {base} · {where}")
        self.info.setToolTip(f"{t.title()}\ndata support: {support.describe()}")
        self.info.setStyleSheet("color: rgb(230, 90, 90)" if support.off_data.any() else "")
        if self._decoded() is not None:
            self._lay_out()
        elif self.controller is not None and not np.array_equal(self._asked_latents, t.latents):
            self._asked_latents = np.array(t.latents)
            self.controller.decode(t.latents, Slot.TRAVERSAL)

    def _decoded(self):
        """The decode of the traversal shown, or None until it is in."""
        decoded, t = self.state.decoded.get(Slot.TRAVERSAL), self.traversal
        if decoded is None or t is None or not np.array_equal(decoded.latents, t.latents):
            return None
        return decoded

    def _on_decoded(self, slot, decoded) -> None:
        if slot != Slot.TRAVERSAL or self._decoded() is not decoded:
            return  # another slot, or an older traversal's images
        self._lay_out()
        if self._pending_export is not None:
            path, self._pending_export = self._pending_export, None
            self.export_to(path)

    def figure_layout(self) -> Layout:
        """The export's layout (the preview's is the same at scale 1)."""
        return Layout(
            padding=self.padding.value(),
            background=self._background,
            scale=self.scale.value(),
            captions=self.captions.isChecked(),
        ).check()

    def animation(self) -> Animation:
        return Animation(self.duration.value(), self.pingpong.isChecked()).check()

    def _lay_out(self, *_) -> None:
        self._show_controls()
        t, decoded, support = self.traversal, self._decoded(), self.support
        if decoded is None:
            return
        look, labels = replace(self.figure_layout(), scale=1), self.labels.isChecked()
        images = decoded.images
        tw = images.shape[2]
        # the preview at whole pixels, tiles at least MIN_PREVIEW_TILE wide; text at full size
        least = max(MIN_PREVIEW_TILE / tw, 1.0 if labels or look.captions else 0.0)
        if least > 1:
            least = float(np.ceil(least))

        def lay_out():  # on the compute thread: 32 columns of 64 dimensions is megapixels
            composite = T.render(t, images, look, labels)
            return composite, mark_off_data(composite.image, composite.boxes, support.off_data, 0)

        def show(laid_out) -> None:
            if t is not self.traversal:
                return  # another traversal came meanwhile; its own layout follows
            self.preview_composite, image = laid_out
            self.preview_traversal = t
            h, w = image.shape[:2]
            self.preview.setMinimumSize(*preview_minimum(w, h, least))
            self.preview.set_image(image)

        self.state.run(Work.TRAVERSAL_LAYOUT, lay_out, show)

    # -- actions ----------------------------------------------------------------------------
    def _ask_background(self) -> None:
        colour = QtWidgets.QColorDialog.getColor(QtGui.QColor(*self._background), self, "Background colour")
        if colour.isValid():
            self._background = (colour.red(), colour.green(), colour.blue())
            self._lay_out()

    def ask_export(self) -> None:
        if self.traversal is None:
            self.state.say(f"nothing to export: {self.problem}")
            return
        path = ask_figure_path(self, "traversal.png")
        if path:
            self.export_to(path)

    def export_to(self, path: str) -> bool:
        """Write the traversal to `path` (replacing it: the user was asked) with its sidecar, as
        `vae-explorer traverse --out path` does. Waits for the decode if it is not in yet; True
        once written."""
        t, decoded, s = self.traversal, self._decoded(), self.state
        if t is None:
            s.say(f"nothing to export: {self.problem}")
            return False
        if decoded is None:
            self._pending_export = path  # written when the decode arrives
            s.say("exporting once the traversal is decoded …")
            return False
        provenance = Provenance(
            s.model_info.command_line(), s.model_info.content_hash, s.dataset.spec, s.dataset.fingerprint
        )
        try:
            written = T.export(
                path,
                t,
                decoded.images,
                provenance,
                self.figure_layout(),
                self.animation(),
                labels=self.labels.isChecked(),
                support=self.support,
                force=True,
            )
        except UserInputError as e:
            s.say(str(e))
            warn(self, str(e))
            return False
        s.say(f"exported {written} and its sidecar {written.name}.json")
        return True
