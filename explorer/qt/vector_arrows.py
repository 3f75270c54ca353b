"""The attribute vectors on the map: an arrow from the pinned point along each vector, named at
its tip, and the point the sliders move it to (with the path there)."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore

from explorer.core.space.vectors import combined_offset
from explorer.core.state.explorer_state import ExplorerState
from explorer.qt.label_placement import place_labels
from explorer.qt.map_marks import Marks, resize_labels

SLIDER_REACH = 3.0  # vectors are drawn as far as a slider goes (standard deviations)
NAME_CHARS = 28  # longer vector names are shortened on the map (the attribute panel has them whole)
VECTOR_PEN = pg.mkPen(255, 255, 255, 170, width=1.5)


class VectorArrows:
    def __init__(self, plot: pg.PlotWidget, state: ExplorerState, z: float):
        self.plot, self.state, self._vb = plot, state, plot.getViewBox()
        self.moved = Marks(symbol="d", size=14, pen=pg.mkPen("k", width=1), brush=pg.mkBrush("w"))
        self._moved_path = pg.PlotCurveItem(pen=pg.mkPen(255, 255, 255, width=2))
        self._lines = pg.PlotCurveItem(pen=VECTOR_PEN, connect="pairs")
        self._tips = Marks(symbol="o", size=5, pen=None, brush=pg.mkBrush(255, 255, 255, 200))
        self.names: list[pg.TextItem] = []
        for i, item in enumerate((self._lines, self._tips, self._moved_path, self.moved)):
            item.setZValue(z + i)
            plot.addItem(item)
        self._xy = None  # (tips, origin, moved) in view coordinates; the names are placed in pixels
        for signal in (state.pinned_changed, state.vectors_changed, state.offsets_changed):
            signal.connect(self.show)
        self._vb.sigTransformChanged.connect(self._place_names)  # pan, zoom, resize

    def show(self, *_) -> None:
        s = self.state
        vectors = s.effective_vectors() if s.pinned is not None and s.projection is not None else []
        resize_labels(self.plot, self.names, len(vectors), color=(235, 235, 235), anchor=(0, 0), fill=(0, 0, 0, 150))
        if not vectors:
            self._xy = None
            for item in (self.moved, self._tips, self._moved_path, self._lines):
                item.setData([], [])
            return
        start = s.pinned.latent
        origin = s.projection.transform(start)
        # each vector drawn to where its slider's far end (+3 sd) would take the current latent
        tips = np.array([s.projection.transform(start + v.offset(SLIDER_REACH)) for v in vectors])
        segments = np.repeat(origin[None], 2 * len(tips), 0)
        segments[1::2] = tips
        self._lines.setData(*segments.T)
        self._tips.setData(pos=tips)
        for text, v in zip(self.names, vectors):
            name = v.label or v.name
            text.setText(name if len(name) <= NAME_CHARS else name[: NAME_CHARS - 1] + "…")
        moved = s.projection.transform(start + combined_offset(vectors, s.sliders.values, s.latent_dim))
        self.moved.setData(pos=[moved])
        self._moved_path.setData(*np.stack([origin, moved]).T)
        self._xy = tips, origin, moved
        self._place_names()

    def _place_names(self, *_) -> None:
        """Each name beside its vector's tip, none on another or on the pin (in pixels)."""
        if self._xy is None:
            return
        vb = self._vb

        def pixels(xy):
            p = vb.mapViewToScene(QtCore.QPointF(*xy))
            return np.array([p.x(), p.y()])

        tips = np.array([pixels(xy) for xy in self._xy[0]])
        origin, moved = pixels(self._xy[1]), pixels(self._xy[2])
        sizes = np.array([[t.boundingRect().width(), t.boundingRect().height()] for t in self.names])
        clear = [np.concatenate([p - r, p + r]) for p, r in ((origin, 11), (moved, 8))]
        order = np.argsort(-np.hypot(*(tips - origin).T))  # far tips first: they have room
        view = vb.sceneBoundingRect()
        corners = np.zeros_like(tips)
        corners[order] = place_labels(
            tips[order], sizes[order], origin, clear, (view.left(), view.top(), view.right(), view.bottom())
        )
        for text, corner in zip(self.names, corners):
            text.setPos(vb.mapSceneToView(QtCore.QPointF(*corner)))
