"""The attribute panel: vectors as sliders that move the current latent along them."""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets
from superqt import QElidingLabel, QLabeledDoubleSlider

from explorer.core.space import vector_file as VF
from explorer.core.space import vectors as V
from explorer.core.state.explorer_state import ExplorerState
from explorer.qt.controller import Controller
from explorer.qt.dialogs import warn
from explorer.qt.latent_map import SELECTION_COLOURS

SLIDER_RANGE = 3.0  # standard deviations either way
SLIDER_STEP = 0.05


def swatch(rgb: tuple[int, int, int], size: int = 12) -> QtGui.QIcon:
    """A square of colour, for buttons that stand for something drawn in that colour."""
    pixmap = QtGui.QPixmap(size, size)
    pixmap.fill(QtGui.QColor(*rgb))
    return QtGui.QIcon(pixmap)


class VectorRow(QtWidgets.QFrame):
    """One vector: its name and quality, a slider in standard deviations, reset and remove."""

    moved = QtCore.Signal(int, float)
    removed = QtCore.Signal(int)

    def __init__(self, index: int, vector: V.AttributeVector, value: float, parent=None):
        super().__init__(parent)
        self.index = index
        self.setFrameShape(QtWidgets.QFrame.Shape.StyledPanel)
        grid = QtWidgets.QGridLayout(self)
        grid.setContentsMargins(6, 3, 6, 3)
        grid.setVerticalSpacing(1)
        # a long name is shortened with "…" (whole in the tooltip) rather than widen the panel
        # past its buttons
        self.name = QElidingLabel(vector.name)
        bold = self.name.font()
        bold.setBold(True)
        self.name.setFont(bold)
        self.name.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Preferred)
        self.name.setToolTip(
            f"{vector.name}\nmethod: {vector.method}; one slider unit = {vector.std:.3f} along the vector"
        )
        self.quality = QtWidgets.QLabel(vector.describe())
        self.quality.setToolTip(
            "AUC: how well <mu, v> separates the label; d: Cohen's d of that projection; n: samples on each side"
        )
        self.slider = QLabeledDoubleSlider(QtCore.Qt.Orientation.Horizontal)
        self.slider.setRange(-SLIDER_RANGE, SLIDER_RANGE)
        self.slider.setSingleStep(SLIDER_STEP)
        self.slider.setDecimals(2)
        self.slider.setValue(value)
        self.slider.setToolTip("standard deviations of the data along this vector (type a value to set it)")
        reset = QtWidgets.QToolButton(text="0")
        reset.setToolTip("reset to 0")
        remove = QtWidgets.QToolButton(text="✕")
        remove.setToolTip("remove this vector")
        grid.addWidget(self.name, 0, 0)
        grid.addWidget(self.quality, 0, 1, 1, 3, QtCore.Qt.AlignmentFlag.AlignRight)
        grid.setColumnStretch(0, 1)
        grid.addWidget(self.slider, 1, 0, 1, 2)
        grid.addWidget(reset, 1, 2)
        grid.addWidget(remove, 1, 3)
        self.slider.valueChanged.connect(lambda v: self.moved.emit(self.index, float(v)))
        reset.clicked.connect(lambda: self.slider.setValue(0.0))
        remove.clicked.connect(lambda: self.removed.emit(self.index))

    def show_value(self, value: float) -> None:
        with QtCore.QSignalBlocker(self.slider):
            self.slider.setValue(value)


class AttributePanel(QtWidgets.QWidget):
    selection_mode_requested = QtCore.Signal(str)  # "A", "B" or "" (off)

    def __init__(self, state: ExplorerState, controller: Controller, parent=None):
        super().__init__(parent)
        self.setObjectName("attributePanel")
        self.state, self.controller = state, controller
        self.rows: list[VectorRow] = []
        layout = QtWidgets.QVBoxLayout(self)

        add = QtWidgets.QHBoxLayout()
        self.label = QtWidgets.QComboBox()
        self.label.setToolTip("the label to make a vector from")
        self.method = QtWidgets.QComboBox()
        self.method.addItems(V.LABEL_METHODS)
        self.method.setToolTip(
            "mean difference; balanced (White 2017); logistic-regression normal; ridge (continuous labels)"
        )
        self.balance = QtWidgets.QToolButton(text="balance by ▾")
        self.balance.setPopupMode(QtWidgets.QToolButton.ToolButtonPopupMode.InstantPopup)
        self.balance.setMenu(QtWidgets.QMenu(self.balance))
        self.balance.setToolTip("confounding labels to balance (for the balanced method)")
        self.add_button = QtWidgets.QPushButton("Add")
        for combo in (self.label, self.method):  # narrow on a small screen; the list shows names whole
            combo.setSizeAdjustPolicy(QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(7)
        for w in (self.label, self.method, self.balance, self.add_button):
            add.addWidget(w)
        layout.addLayout(add)

        more = QtWidgets.QHBoxLayout()
        self.principal_button = QtWidgets.QPushButton("Principal directions")
        self.principal_button.setToolTip("add the top 3 principal directions of the encoded data")
        self.select_a = QtWidgets.QPushButton("Select A", checkable=True)
        self.select_b = QtWidgets.QPushButton("Select B", checkable=True)
        for group, b in (("A", self.select_a), ("B", self.select_b)):
            b.setIcon(swatch(SELECTION_COLOURS[group]))  # the colour the group has on the map
            b.setToolTip(f"drag a box on the map to select group {group} (drawn in this colour)")
        self.add_selection = QtWidgets.QPushButton("Add A − B")
        for w in (self.principal_button, self.select_a, self.select_b, self.add_selection):
            more.addWidget(w)
        layout.addLayout(more)

        self.rows_box = QtWidgets.QVBoxLayout()
        self.rows_box.setSpacing(3)
        holder = QtWidgets.QWidget()
        holder_layout = QtWidgets.QVBoxLayout(holder)
        holder_layout.setContentsMargins(0, 0, 0, 0)
        holder_layout.addLayout(self.rows_box)
        holder_layout.addStretch(1)
        scroll = QtWidgets.QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(holder)
        layout.addWidget(scroll, stretch=1)

        bottom = QtWidgets.QHBoxLayout()
        self.orthogonalise = QtWidgets.QCheckBox("Orthogonalise")
        self.orthogonalise.setToolTip(
            "Gram-Schmidt in list order: each vector loses its components along the ones above it"
        )
        reset_all = QtWidgets.QPushButton("Reset all")
        self.save_button = QtWidgets.QPushButton("Save…")
        self.load_button = QtWidgets.QPushButton("Load…")
        for w in (self.orthogonalise, reset_all, self.save_button, self.load_button):
            bottom.addWidget(w)
        layout.addLayout(bottom)
        self.selection_text = QtWidgets.QLabel("")
        self.selection_text.setTextFormat(QtCore.Qt.TextFormat.RichText)
        layout.addWidget(self.selection_text)

        self.save_button.clicked.connect(self._ask_save)
        self.load_button.clicked.connect(self._ask_load)
        self.add_button.clicked.connect(self._add_from_label)
        self.principal_button.clicked.connect(self._add_principal)
        self.select_a.toggled.connect(lambda on: self._selection_mode("A", on))
        self.select_b.toggled.connect(lambda on: self._selection_mode("B", on))
        self.add_selection.clicked.connect(self._add_selection)
        self.orthogonalise.toggled.connect(state.set_orthogonalise)
        reset_all.clicked.connect(state.reset_sliders)
        state.data_changed.connect(self._sync_labels)
        state.vectors_changed.connect(self._rebuild_rows)
        state.offsets_changed.connect(self._sync_values)
        state.selection_changed.connect(self._sync_selection)

    # -- state -> widgets ------------------------------------------------------------------
    def _sync_labels(self) -> None:
        ds = self.state.dataset
        names = ds.label_names if ds is not None else ()
        with QtCore.QSignalBlocker(self.label):
            self.label.clear()
            self.label.addItems(list(names))
        menu = self.balance.menu()
        menu.clear()
        for name in ds.binary_label_names() if ds is not None else ():
            menu.addAction(name).setCheckable(True)
        self._rebuild_rows()

    def _rebuild_rows(self) -> None:
        for row in self.rows:
            row.setParent(None)
            row.deleteLater()
        self.rows = []
        for i, (vector, value) in enumerate(zip(self.state.effective_vectors(), self.state.sliders.values)):
            row = VectorRow(i, vector, value)
            row.moved.connect(self.state.set_slider)
            row.removed.connect(self.state.remove_vector)
            self.rows_box.addWidget(row)
            self.rows.append(row)

    def _sync_values(self) -> None:
        for row, value in zip(self.rows, self.state.sliders.values):
            row.show_value(value)

    def _sync_selection(self) -> None:
        a, b = (len(self.state.selection[g]) for g in "AB")
        dot = {g: f"<span style='color: rgb{SELECTION_COLOURS[g]}'>■</span>" for g in "AB"}
        self.selection_text.setText(f"selected: {dot['A']} A {a:,} points, {dot['B']} B {b:,} points" if a or b else "")

    # -- actions ----------------------------------------------------------------------------
    def balance_by(self) -> tuple[str, ...]:
        return tuple(a.text() for a in self.balance.menu().actions() if a.isChecked())

    def _add_from_label(self) -> None:
        ds = self.state.dataset
        if ds is None or not self.state.ready or not self.label.currentText():
            return
        label, method, balance = self.label.currentText(), self.method.currentText(), self.balance_by()
        labels, names = ds.labels, ds.label_names
        self.controller.compute_vectors(
            lambda mu: V.from_label(method, mu, labels, names, label, balance), what=f"{label} ({method})"
        )

    def _add_principal(self) -> None:
        if self.state.ready:
            self.controller.compute_vectors(lambda mu: V.principal_directions(mu, 3), what="principal directions")

    def _add_selection(self) -> None:
        if not self.state.ready:
            return
        a, b = self.state.selection["A"], self.state.selection["B"]
        self.controller.compute_vectors(
            lambda mu: V.selection_difference(mu, a, b, name=f"A − B ({len(a)}/{len(b)})"), what="A − B"
        )

    def save_to(self, path: str) -> None:
        VF.save_vectors(path, self.state.sliders.vectors, self.state.model_info.content_hash)
        self.state.say(f"saved {len(self.state.sliders.vectors)} vectors to {path}")

    def load_from(self, path: str) -> None:
        """Add the vectors saved in `path`; VectorError (shown to the user) for another model."""
        loaded = VF.load_vectors(path, self.state.model_info.content_hash, self.state.latent_dim)
        self.state.add_vectors(loaded)
        self.state.say(f"loaded {len(loaded)} vectors from {path}")

    def _ask_save(self) -> None:
        if not self.state.sliders.vectors:
            self.state.say("no vectors to save")
            return
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Save vectors", "vectors.json", "Vectors (*.json)")
        if path:
            self._guarded(lambda: self.save_to(path))

    def _ask_load(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Load vectors", "", "Vectors (*.json)")
        if path and self.state.ready:
            self._guarded(lambda: self.load_from(path))

    def _guarded(self, action) -> None:
        try:
            action()
        except (V.VectorError, OSError) as e:
            self.state.say(str(e))
            warn(self, str(e))

    def _selection_mode(self, group: str, on: bool) -> None:
        other = self.select_b if group == "A" else self.select_a
        if on:
            with QtCore.QSignalBlocker(other):
                other.setChecked(False)
        self.selection_mode_requested.emit(group if on else "")
