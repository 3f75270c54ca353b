"""The bar above the map: projection, hidden-part fill, colouring, point size and opacity,
thumbnails when zoomed in, search."""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets
from superqt import QLabeledDoubleSlider, QLabeledSlider

from explorer.core.maps.nonlinear import METHODS, available
from explorer.core.state.explorer_state import FILL_MEAN, FILL_NEAREST, ExplorerState
from explorer.qt.latent_map import LatentMap

PCA, RAW, ALONG = "PCA", "raw dimensions", "along a vector"
NONLINEAR = {label: method for method, label in METHODS.items()}  # "UMAP" -> "umap", where installed


class MapControls(QtWidgets.QToolBar):
    """A tool bar, so that on a narrow window what does not fit goes into its overflow menu."""

    def __init__(self, state: ExplorerState, latent_map: LatentMap, parent=None):
        super().__init__("Map", parent)
        self.setObjectName("mapControls")
        self.state, self.map = state, latent_map

        self.projection = QtWidgets.QComboBox()
        self.projection.addItems([PCA, RAW, ALONG, *(METHODS[m] for m in available())])
        self.projection.setToolTip("How latents are laid out on the map")
        self.vector = QtWidgets.QComboBox()
        self.vector.setToolTip("x = <mu, v> for this vector; y = the first principal direction without it")
        self.vector.setMinimumContentsLength(12)
        self.dim_x, self.dim_y = QtWidgets.QSpinBox(), QtWidgets.QSpinBox()
        for box, tip in ((self.dim_x, "latent dimension on the x axis"), (self.dim_y, "... on the y axis")):
            box.setPrefix("z")
            box.setToolTip(tip)
        self.fill = QtWidgets.QComboBox()
        self.fill.addItem("hidden dims from the nearest point", FILL_NEAREST)
        self.fill.addItem("hidden dims from the data mean", FILL_MEAN)
        self.fill.setToolTip("The map shows two directions of the latent space; the others come from here")
        self.colour = QtWidgets.QComboBox()
        self.colour.setToolTip("Colour the points by a label, the reconstruction error or the KL term")
        self.size = QLabeledSlider(QtCore.Qt.Orientation.Horizontal)
        self.size.setRange(1, 12)
        self.size.setValue(4)
        self.size.setToolTip("point size (pixels)")
        self.opacity = QLabeledDoubleSlider(QtCore.Qt.Orientation.Horizontal)
        self.opacity.setRange(0.05, 1.0)
        self.opacity.setValue(0.8)
        self.opacity.setToolTip("point opacity")
        self.atlas = QtWidgets.QCheckBox("Thumbnails")
        self.atlas.setChecked(True)
        self.atlas.setToolTip("Zoomed in to a few hundred points, draw each point as its own image")
        self.search = QtWidgets.QLineEdit()
        self.search.setObjectName("searchBox")
        self.search.setPlaceholderText("find: 123, 10-20, smiling=1 hat, head_x>0.5")
        self.search.setClearButtonEnabled(True)

        self.size.setMaximumWidth(140)
        self.opacity.setMaximumWidth(160)
        self.search.setMinimumWidth(180)
        for label, widget in (
            ("Map ", self.projection),
            (None, self.dim_x),
            (None, self.dim_y),
            (None, self.vector),
            (None, self.fill),
            (" Colour ", self.colour),
            (" Size ", self.size),
            (" Opacity ", self.opacity),
            (" ", self.atlas),
            (" ", self.search),
        ):
            if label:
                self.addWidget(QtWidgets.QLabel(label))
            self.addWidget(widget)

        self.projection.currentTextChanged.connect(self._apply_projection)
        self.dim_x.valueChanged.connect(self._apply_projection)
        self.dim_y.valueChanged.connect(self._apply_projection)
        self.vector.currentIndexChanged.connect(self._apply_projection)
        state.vectors_changed.connect(self._sync_vectors)
        self.fill.currentIndexChanged.connect(lambda: state.set_fill_mode(self.fill.currentData()))
        self.colour.currentTextChanged.connect(self._apply_colour)
        self.size.valueChanged.connect(latent_map.set_point_size)
        self.opacity.valueChanged.connect(latent_map.set_opacity)
        self.atlas.toggled.connect(latent_map.set_atlas)
        self.search.textChanged.connect(self._apply_search)
        state.data_changed.connect(self._sync_choices)
        state.projection_changed.connect(self.sync_projection)
        state.colouring_changed.connect(self._sync_colour)
        state.search_changed.connect(self._show_search)
        latent_map.set_opacity(self.opacity.value())

    def _sync_choices(self) -> None:
        with QtCore.QSignalBlocker(self.colour):
            self.colour.clear()
            if self.state.dataset is not None:
                self.colour.addItems(self.state.colour_choices())
                self.colour.setCurrentText(self.state.colour_key)
        d = max(self.state.latent_dim - 1, 0)
        for box, value in ((self.dim_x, 0), (self.dim_y, min(1, d))):
            with QtCore.QSignalBlocker(box):
                box.setRange(0, d)
                box.setValue(value)
        self.sync_projection()

    def _sync_colour(self) -> None:
        with QtCore.QSignalBlocker(self.colour):
            self.colour.setCurrentText(self.state.colour_key)

    def _sync_vectors(self) -> None:
        with QtCore.QSignalBlocker(self.vector):
            current = self.vector.currentText()
            self.vector.clear()
            self.vector.addItems([v.name for v in self.state.sliders.vectors])
            self.vector.setCurrentText(current)
        self.vector.setEnabled(self.projection.currentText() == ALONG)

    def sync_projection(self) -> None:
        p = self.state.projection
        if p is not None and p.name in NONLINEAR:
            kind = p.name
        else:
            kind = PCA if p is None or p.name == PCA else ALONG if p.name.startswith("along ") else RAW
        with QtCore.QSignalBlocker(self.projection):
            self.projection.setCurrentText(kind)
        self.fill.setEnabled(kind not in NONLINEAR)  # a non-linear map's inverse has no hidden part to fill
        if kind == RAW:
            for box, axis in ((self.dim_x, 0), (self.dim_y, 1)):
                with QtCore.QSignalBlocker(box):
                    box.setValue(int(p.axes[:, axis].argmax()))
        if kind == ALONG and self.state.projection_source[0] == "vector":
            with QtCore.QSignalBlocker(self.vector):
                self.vector.setCurrentIndex(self.state.projection_source[1])
        with QtCore.QSignalBlocker(self.fill):
            self.fill.setCurrentIndex(max(self.fill.findData(self.state.fill_mode), 0))
        self.dim_x.setEnabled(kind == RAW)
        self.dim_y.setEnabled(kind == RAW)
        self.vector.setEnabled(kind == ALONG)

    def _apply_projection(self) -> None:
        if not self.state.ready:
            return
        kind = self.projection.currentText()
        if kind == RAW:
            x, y = self.dim_x.value(), self.dim_y.value()
            if x == y:
                self.state.say("choose two different latent dimensions")
                return
            self.state.set_raw_dims(x, y)
        elif kind in NONLINEAR:
            self.state.set_nonlinear(NONLINEAR[kind])
        elif kind == ALONG:
            if self.vector.currentIndex() < 0:
                self.state.say("add an attribute vector first (Attributes panel)")
                return
            self.state.set_along_vector(self.vector.currentIndex())
        else:
            self.state.set_pca()

    def _apply_colour(self, key: str) -> None:
        if self.state.ready and key:
            self.state.set_colour(key)

    def _apply_search(self, text: str) -> None:
        if self.state.ready:
            self.state.set_search(text)  # answered through search_changed

    def _show_search(self, mask) -> None:
        error = self.state.search_error
        if error:
            self.search.setStyleSheet("QLineEdit { border: 1px solid #d04040; }")
            self.search.setToolTip(error)
            self.state.say(error)
            return
        self.search.setStyleSheet("")
        matching = self.state.search_count
        self.search.setToolTip("" if mask is None else f"{matching:,} matching points")
        if mask is not None:
            self.state.say(f"{matching:,} of {len(mask):,} points match")
