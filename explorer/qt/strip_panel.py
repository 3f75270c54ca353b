"""The strip panel: keyframes, the kind of figure made of them, a live preview, and export.
Beside it, a tab of its own: latent traversals (explorer/qt/traversal_tab.py).

The preview is the exported figure itself (the same `render`), decoded on the worker in one
batch; steps that leave the data are framed in red in the preview only.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from explorer.core.data import IndexedImages
from explorer.core.figures import figure as F
from explorer.core.figures.compose import best_columns
from explorer.core.figures.export import SUFFIXES
from explorer.core.space import paths
from explorer.core.state.compute import Work
from explorer.core.state.explorer_state import ExplorerState
from explorer.qt.dialogs import warn
from explorer.qt.image_view import ImageView
from explorer_models.errors import UserInputError

KIND_NAMES = {
    F.PATH: "Path through keyframes",
    F.SWEEP: "Sweep along a vector",
    F.GRID: "Grid (4 corners)",
    F.ANALOGY: "Analogy (A : B :: C : ?)",
    F.RECORDING: "Recorded walk",
}
RECORD_TIP = (
    "record the latents the cursor passes through (move or drag over the map) and the sliders' motion; "
    "click again to stop: the walk becomes a strip of its own, exported like any other (Ctrl+R)"
)
FILTERS = {".png": "PNG image (*.png)", ".gif": "Animated GIF (*.gif)", ".apng": "Animated PNG (*.apng)"}
OFF_DATA_RGB = (230, 40, 40)
MIN_PREVIEW_TILE = 48  # pixels: smaller tiles are a line of noise, not a preview


def mark_off_data(image: np.ndarray, boxes: np.ndarray, off: np.ndarray, first_tile: int) -> np.ndarray:
    """A copy of the figure with a red frame inside each tile whose step is off the data."""
    marked = image.copy()
    for i in np.flatnonzero(off):
        x, y, w, h = boxes[first_tile + i]
        for sl in (
            (slice(y, y + 2), slice(x, x + w)),
            (slice(y + h - 2, y + h), slice(x, x + w)),
            (slice(y, y + h), slice(x, x + 2)),
            (slice(y, y + h), slice(x + w - 2, x + w)),
        ):
            marked[sl] = OFF_DATA_RGB
    return marked


def preview_minimum(width: int, height: int, least: float) -> tuple[int, int]:
    """The smallest preview widget that shows a width x height figure at `least` times its size
    or more: ImageView fits the figure to its tighter side and rounds the result down, so each
    side gets the room the other side's whole pixels need."""
    w, h = int(np.ceil(width * least)), int(np.ceil(height * least))
    return max(w, int(np.ceil(h * width / height))), max(h, int(np.ceil(w * height / width)))


def spin(low: int, high: int, value: int, tip: str, suffix: str = "") -> QtWidgets.QSpinBox:
    box = QtWidgets.QSpinBox(minimum=low, maximum=high, value=value, suffix=suffix)
    box.setToolTip(tip)
    return box


def add_labelled(grid: QtWidgets.QGridLayout, first_row: int, labelled) -> None:
    """(name, box) pairs laid out two to a row from `first_row`: a label, then its box."""
    for i, (name, box) in enumerate(labelled):
        grid.addWidget(QtWidgets.QLabel(name), first_row + i // 2, 2 * (i % 2))
        grid.addWidget(box, first_row + i // 2, 2 * (i % 2) + 1)


def settings_tabs(pages, corner: QtWidgets.QWidget) -> QtWidgets.QTabWidget:
    """The controls beside a preview: a tab per (title, grid), `corner` (Export…) in the tab bar,
    always in sight and with no row of its own."""
    tabs = QtWidgets.QTabWidget()
    tabs.setDocumentMode(True)
    for title, grid in pages:
        page = QtWidgets.QWidget()
        page.setLayout(grid)
        tabs.addTab(page, title)
    tabs.setCornerWidget(corner)
    tabs.setMaximumWidth(430)
    return tabs


def background_style(rgb) -> str:
    """A Background button shows its colour, with text that stays readable on it."""
    r, g, b = rgb
    return f"background-color: rgb({r},{g},{b}); color: {'black' if r + g + b > 380 else 'white'}"


def ask_figure_path(parent: QtWidgets.QWidget, name: str) -> str:
    """A path to export a figure to (the dialog asks before replacing a file, Qt's default for
    save dialogs), with the suffix of the type chosen when the name has none; "" if cancelled."""
    path, chosen = QtWidgets.QFileDialog.getSaveFileName(parent, "Export figure", name, ";;".join(FILTERS.values()))
    if path and Path(path).suffix.lower() not in SUFFIXES:
        path += next(s for s, f in FILTERS.items() if f == chosen) if chosen in FILTERS.values() else ".png"
    return path


class StripPanel(QtWidgets.QWidget):
    def __init__(self, state: ExplorerState, controller=None, parent=None):
        """`controller` decodes the traversal tab's figures (the strip's own follow the state)."""
        super().__init__(parent)
        self.setObjectName("stripPanel")
        self.state, self.strip, self._controller = state, state.strip, controller
        self._composite = None  # the figure as exported, rendered when first asked for
        self.preview_composite = None  # the figure as the preview shows it (wrapped to fit)
        self._preview_columns = 0
        self._pending_export: str | None = None
        self._build()
        self._connect()
        self._show_spec()

    # -- construction ----------------------------------------------------------------------
    def _build(self) -> None:
        spec = self.strip.spec
        self.kind = QtWidgets.QComboBox()
        for kind, name in KIND_NAMES.items():
            self.kind.addItem(name, kind)
        self.method = QtWidgets.QComboBox()
        self.method.addItems(paths.METHODS)
        self.method.setToolTip(
            "lerp: straight line; slerp: along the sphere (White 2017); gauss: lerp of the Gaussian CDF per coordinate"
        )
        self.steps = spin(2, F.MAX_STEPS, spec.steps, "images per segment, both ends included")
        self.rows = spin(2, F.MAX_SIDE, spec.rows, "grid rows")
        self.cols = spin(2, F.MAX_SIDE, spec.cols, "grid columns")
        self.vector = QtWidgets.QComboBox()
        self.vector.setToolTip("the attribute vector to sweep along")
        self.sweep_from = QtWidgets.QDoubleSpinBox(minimum=-10, maximum=10, value=spec.sweep_from, singleStep=0.5)
        self.sweep_to = QtWidgets.QDoubleSpinBox(minimum=-10, maximum=10, value=spec.sweep_to, singleStep=0.5)
        for box in (self.sweep_from, self.sweep_to):
            box.setToolTip("standard deviations along the vector (slider units)")

        self.keyframe_list = QtWidgets.QListWidget()
        self.keyframe_list.setMaximumHeight(66)
        self.keyframe_list.setToolTip("shift-click points on the map to add keyframes")
        self.add_pinned = QtWidgets.QPushButton("Add pinned")
        self.add_moved = QtWidgets.QPushButton("Add moved")
        self.add_moved.setToolTip("the pinned point moved by the attribute sliders")
        self.remove = QtWidgets.QPushButton("Remove")
        self.clear = QtWidgets.QPushButton("Clear")
        self.record = QtWidgets.QPushButton("Record")
        self.record.setCheckable(True)
        self.record.setToolTip(RECORD_TIP)

        self.originals = QtWidgets.QCheckBox("Originals at the ends")
        self.captions = QtWidgets.QCheckBox("Captions")
        self.columns = spin(0, 64, 0, "wrap the strip into rows of this many images (0: one row)")
        self.columns.setSpecialValueText("no wrap")
        self.padding = spin(0, 64, spec.layout.padding, "pixels between images", " px")
        self.scale = spin(1, 16, spec.layout.scale, "each image pixel as scale x scale pixels", "x")
        self.background = QtWidgets.QPushButton("Background")
        self.duration = spin(10, 5000, spec.animation.duration_ms, "GIF / APNG frame duration", " ms")
        self.pingpong = QtWidgets.QCheckBox("Ping-pong")
        self.pingpong.setToolTip("GIF / APNG: play forward, then back")
        self.export_button = QtWidgets.QPushButton("Export…")
        self.export_button.setToolTip("PNG, GIF or APNG, with a JSON sidecar (Ctrl+E)")

        # the preview scrolls rather than shrink tiles below MIN_PREVIEW_TILE pixels
        self.preview = ImageView(min_size=32, preferred=160)
        self.preview_scroll = QtWidgets.QScrollArea(widgetResizable=True)
        self.preview_scroll.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        self.preview_scroll.setWidget(self.preview)
        self.preview_scroll.viewport().installEventFilter(self)  # re-wrap the preview when resized
        self.support_text = QtWidgets.QLabel()
        self.support_text.setWordWrap(True)

        figure = QtWidgets.QGridLayout()
        figure.setVerticalSpacing(3)
        figure.addWidget(self.kind, 0, 0, 1, 3)
        figure.addWidget(self.method, 0, 3)
        figure.addWidget(QtWidgets.QLabel("steps"), 1, 0)
        figure.addWidget(self.steps, 1, 1)
        figure.addWidget(QtWidgets.QLabel("grid"), 1, 2)
        grid_size = QtWidgets.QHBoxLayout()
        grid_size.addWidget(self.rows)
        grid_size.addWidget(QtWidgets.QLabel("x"))
        grid_size.addWidget(self.cols)
        figure.addLayout(grid_size, 1, 3)
        figure.addWidget(self.vector, 2, 0, 1, 2)
        figure.addWidget(self.sweep_from, 2, 2)
        figure.addWidget(self.sweep_to, 2, 3)
        figure.addWidget(self.keyframe_list, 3, 0, 1, 4)
        buttons = QtWidgets.QHBoxLayout()
        for button in (self.add_pinned, self.add_moved, self.remove, self.clear, self.record):
            buttons.addWidget(button)
        figure.addLayout(buttons, 4, 0, 1, 4)
        figure.setRowStretch(5, 1)

        look = QtWidgets.QGridLayout()
        look.setVerticalSpacing(3)
        look.addWidget(self.originals, 0, 0, 1, 2)
        look.addWidget(self.captions, 0, 2)
        look.addWidget(self.background, 0, 3)
        labelled = (("wrap", self.columns), ("padding", self.padding), ("scale", self.scale), ("frame", self.duration))
        add_labelled(look, 1, labelled)
        look.addWidget(self.pingpong, 3, 0, 1, 2)
        look.setRowStretch(4, 1)

        self.tabs = settings_tabs((("Path", figure), ("Layout and animation", look)), self.export_button)

        right = QtWidgets.QVBoxLayout()
        right.addWidget(self.preview_scroll, stretch=1)
        right.addWidget(self.support_text)
        self.strip_page = QtWidgets.QWidget()
        layout = QtWidgets.QHBoxLayout(self.strip_page)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.tabs)
        layout.addLayout(right, stretch=1)

        from explorer.qt.traversal_tab import TraversalTab  # here: it imports this module's helpers

        self.traversal = TraversalTab(self.state, self._controller)
        self.pages = QtWidgets.QTabWidget()
        self.pages.setObjectName("stripPages")
        self.pages.setDocumentMode(True)
        self.pages.addTab(self.strip_page, "Strips and grids")
        self.pages.addTab(self.traversal, "Traversal")
        self.pages.setTabToolTip(1, "one row per latent dimension, sweeping it from a base latent")
        outer = QtWidgets.QVBoxLayout(self)
        outer.setContentsMargins(4, 2, 4, 2)
        outer.addWidget(self.pages)

    def _connect(self) -> None:
        s = self.strip
        self.kind.currentIndexChanged.connect(lambda: s.set_spec(kind=self.kind.currentData()))
        self.method.currentTextChanged.connect(lambda m: s.set_spec(method=m))
        self.steps.valueChanged.connect(lambda n: s.set_spec(steps=n))
        self.rows.valueChanged.connect(lambda n: s.set_spec(rows=n))
        self.cols.valueChanged.connect(lambda n: s.set_spec(cols=n))
        self.sweep_from.valueChanged.connect(lambda v: s.set_spec(sweep_from=v))
        self.sweep_to.valueChanged.connect(lambda v: s.set_spec(sweep_to=v))
        self.vector.currentIndexChanged.connect(lambda i: s.set_vector(max(i, 0)))
        self.originals.toggled.connect(lambda on: s.set_spec(originals=on))
        self.captions.toggled.connect(lambda on: s.set_layout(captions=on))
        self.columns.valueChanged.connect(lambda n: s.set_layout(columns=n))
        self.padding.valueChanged.connect(lambda n: s.set_layout(padding=n))
        self.scale.valueChanged.connect(lambda n: s.set_layout(scale=n))
        self.duration.valueChanged.connect(lambda n: s.set_animation(duration_ms=n))
        self.pingpong.toggled.connect(lambda on: s.set_animation(pingpong=on))
        self.background.clicked.connect(self._ask_background)
        self.add_pinned.clicked.connect(lambda: s.add_pinned() or self.state.say("pin a point first"))
        self.add_moved.clicked.connect(lambda: s.add_pinned(moved=True) or self.state.say("pin a point first"))
        self.remove.clicked.connect(self._remove_selected)
        self.clear.clicked.connect(s.clear)
        self.record.toggled.connect(self._on_record_toggled)
        s.recording_changed.connect(self._show_recording)
        self.export_button.clicked.connect(self.ask_export)
        s.figure_changed.connect(self._on_figure)
        self.state.vectors_changed.connect(self._show_vectors)
        self.state.decoded_changed.connect(self._on_decoded)

    # -- state -> widgets ------------------------------------------------------------------
    def _show_spec(self) -> None:
        spec = self.strip.spec
        values = (
            (self.kind, "setCurrentIndex", list(KIND_NAMES).index(spec.kind)),
            (self.method, "setCurrentText", spec.method),
            (self.steps, "setValue", spec.steps),
            (self.rows, "setValue", spec.rows),
            (self.cols, "setValue", spec.cols),
            (self.sweep_from, "setValue", spec.sweep_from),
            (self.sweep_to, "setValue", spec.sweep_to),
            (self.originals, "setChecked", spec.originals),
            (self.captions, "setChecked", spec.layout.captions),
            (self.columns, "setValue", spec.layout.columns),
            (self.padding, "setValue", spec.layout.padding),
            (self.scale, "setValue", spec.layout.scale),
            (self.duration, "setValue", spec.animation.duration_ms),
            (self.pingpong, "setChecked", spec.animation.pingpong),
        )
        for widget, setter, value in values:
            with QtCore.QSignalBlocker(widget):
                getattr(widget, setter)(value)
        kind = spec.kind
        for w in (self.steps, self.originals):
            w.setEnabled(kind in (F.PATH, F.SWEEP))
        self.columns.setEnabled(kind in (F.PATH, F.SWEEP, F.RECORDING))
        for w in (self.rows, self.cols):
            w.setEnabled(kind in (F.GRID, F.ANALOGY))
        for w in (self.vector, self.sweep_from, self.sweep_to):
            w.setEnabled(kind == F.SWEEP)
        self.method.setEnabled(kind not in (F.SWEEP, F.RECORDING))
        self.background.setStyleSheet(background_style(spec.layout.background))

    def _on_record_toggled(self, on: bool) -> None:
        if on:
            self.strip.start_recording()
            self.state.say("recording: move or drag over the map, or move the sliders; click Record to stop")
        else:
            n = self.strip.stop_recording()
            self.state.say(f"recorded a walk of {n} frames" if n >= 2 else "too short a walk to make a strip")

    def _show_recording(self, on: bool) -> None:
        with QtCore.QSignalBlocker(self.record):
            self.record.setChecked(on)
        self.record.setText("■ Stop" if on else "Record")

    def _show_keyframes(self) -> None:
        self.keyframe_list.clear()
        if self.strip.spec.kind == F.RECORDING:  # hundreds of latents: one line says it
            self.keyframe_list.addItem(f"a recorded walk of {len(self.strip.keyframes)} latents")
            return
        corners = ("top-left", "top-right", "bottom-left", "bottom-right")
        for i, k in enumerate(self.strip.keyframes):
            role = f" ({corners[i]})" if self.strip.spec.kind == F.GRID and i < 4 else ""
            self.keyframe_list.addItem(f"{i + 1} · {k.source}{role}")

    def _show_vectors(self) -> None:
        with QtCore.QSignalBlocker(self.vector):
            self.vector.clear()
            self.vector.addItems([v.name for v in self.state.sliders.vectors])
            self.vector.setCurrentIndex(min(self.strip.vector_index, self.vector.count() - 1))

    def _on_figure(self) -> None:
        self._show_spec()
        self._show_keyframes()
        figure, support = self.strip.figure, self.strip.support
        if figure is None:
            self.support_text.setText(self.strip.problem)
            self.support_text.setStyleSheet("")
            self.preview.set_image(None)
            self.preview.setMinimumSize(32, 32)
            self._composite = self.preview_composite = None
            self._preview_columns = 0
            return
        self.support_text.setText(f"{len(figure.latents)} images · {support.describe(short=True)}")
        self.support_text.setToolTip(f"data support: {support.describe()}; the preview frames those steps in red")
        self.support_text.setStyleSheet("color: rgb(230, 90, 90)" if support.off_data.any() else "")
        self._on_decoded("strip", self.state.decoded.get("strip"))

    def _on_decoded(self, slot: str, decoded) -> None:
        figure = self.strip.figure
        if slot != "strip" or decoded is None or figure is None or not self._matches(decoded):
            return  # an older figure's images: keep showing the last preview until the new one comes
        self._composite = None
        self._preview_columns = 0
        self._show_preview()
        if self._pending_export is not None:
            path, self._pending_export = self._pending_export, None
            self.export_to(path)

    @property
    def composite(self):
        """The figure laid out as it is exported (Composite), or None until it is decoded. Only
        the preview is rendered on every change; this, at export scale, when asked for."""
        decoded = self.state.decoded.get("strip")
        if self._composite is None and decoded is not None and self._matches(decoded):
            self._composite = F.render(self.strip.figure, decoded.images, IndexedImages(self.state.dataset))
        return self._composite

    def _show_preview(self) -> None:
        """The figure as the preview shows it: at whole pixels, each tile at least
        MIN_PREVIEW_TILE pixels wide (and captions at full size), a strip wrapped into the rows
        that show it largest in the panel; what does not fit scrolls."""
        figure, decoded = self.strip.figure, self.state.decoded.get("strip")
        if figure is None or decoded is None or not self._matches(decoded):
            return
        n = len(decoded.images) + sum(i is not None for i in figure.end_indices())
        th, tw = decoded.images.shape[1:3]
        look = replace(figure.spec.layout, scale=1)
        least = max(MIN_PREVIEW_TILE / tw, 1.0 if look.captions else 0.0)  # display scale
        if least > 1:
            least = float(np.ceil(least))  # enlargements are shown in whole pixels
        area = self.preview_scroll.maximumViewportSize()
        columns = figure.columns
        if figure.spec.kind in (F.PATH, F.SWEEP, F.RECORDING):
            columns = best_columns(n, th, tw, look, (area.width(), area.height()), least)
        if columns == self._preview_columns:
            return
        self._preview_columns = columns
        images, data, off_data = decoded.images, IndexedImages(self.state.dataset), self.strip.support.off_data
        first_tile = 1 if figure.end_indices()[0] is not None else 0

        def lay_out():  # on the compute thread: a 32x32 grid is a few megapixels
            composite = F.render(figure, images, data, replace(look, columns=columns))
            return composite, mark_off_data(composite.image, composite.boxes, off_data, first_tile)

        def show(laid_out) -> None:
            if figure is not self.strip.figure:
                return  # another figure came meanwhile; its own layout follows
            self.preview_composite, image = laid_out
            h, w = image.shape[:2]
            self.preview.setMinimumSize(*preview_minimum(w, h, least))
            self.preview.set_image(image)

        self.state.run(Work.PREVIEW, lay_out, show)

    def eventFilter(self, watched, event) -> bool:
        if watched is self.preview_scroll.viewport() and event.type() == QtCore.QEvent.Type.Resize:
            self._show_preview()
        return super().eventFilter(watched, event)

    def _matches(self, decoded) -> bool:
        figure = self.strip.figure
        return figure is not None and np.array_equal(decoded.latents, figure.latents)

    # -- actions ----------------------------------------------------------------------------
    def _remove_selected(self) -> None:
        row = self.keyframe_list.currentRow()
        if 0 <= row < len(self.strip.keyframes):
            self.strip.remove(row)

    def _ask_background(self) -> None:
        colour = QtWidgets.QColorDialog.getColor(
            QtGui.QColor(*self.strip.spec.layout.background), self, "Background colour"
        )
        if colour.isValid():
            self.strip.set_layout(background=(colour.red(), colour.green(), colour.blue()))

    def show_dimension(self, dim: int) -> None:
        """Bring the traversal tab forward showing latent dimension `dim` alone."""
        self.pages.setCurrentWidget(self.traversal)
        self.traversal.show_dimension(dim)

    def ask_export(self) -> None:
        if self.pages.currentWidget() is self.traversal:
            self.traversal.ask_export()
            return
        if self.strip.figure is None:
            self.state.say(f"nothing to export: {self.strip.problem}")
            return
        path = ask_figure_path(self, f"{self.strip.spec.kind}.png")
        if path:
            self.export_to(path)

    def export_to(self, path: str) -> bool:
        """Write the current figure to `path` (replacing it: the user was asked). Waits for the
        figure's decode if it is not in yet; True once written."""
        figure, decoded = self.strip.figure, self.state.decoded.get("strip")
        if figure is None:
            self.state.say(f"nothing to export: {self.strip.problem}")
            return False
        if decoded is None or not self._matches(decoded):
            self._pending_export = path  # written when the decode arrives
            self.state.say("exporting once the strip is decoded …")
            return False
        s = self.state
        model = s.model_info.command_line()
        provenance = F.Provenance(model, s.model_info.content_hash, s.dataset.spec, s.dataset.fingerprint)
        try:
            written = F.export(
                path, figure, decoded.images, provenance, IndexedImages(s.dataset), self.strip.support, force=True
            )
        except UserInputError as e:
            s.say(str(e))
            warn(self, str(e))
            return False
        s.say(f"exported {written} and its sidecar {written.name}.json")
        return True
