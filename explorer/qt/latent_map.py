"""The latent map: every data point projected to 2D, coloured, with the cursor's context.

Drawing: one PointCloudItem holds every colour group (one sprite and one draw call per group;
see point_cloud.py), with points a search leaves out in a grey group underneath; above
150,000 points, an image of each view drawn on the compute thread (a density image, or the
points once few are in view). Zoomed in to a few hundred points, the atlas draws each as its
image (atlas_item.py). No per-point Python objects, no hoverable=True. The cursor is followed
through the scene's sigMouseMoved (as pyqtgraph's crosshair example does); the nearest point
comes from a KD-tree in the state.

Mouse (map_mouse.py): hover decodes the latent under the cursor; a click pins it; shift-click
adds the nearest data point as a strip keyframe; left-drag walks (the pin follows the cursor);
wheel zooms; Ctrl+left-drag or middle-drag pans; right-drag zooms.
"""

from __future__ import annotations

import html

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from explorer.core.data.base import has_images
from explorer.core.figures import figure as F
from explorer.core.maps.atlas import ATLAS_MOST, AtlasView, atlas_view
from explorer.core.maps.colouring import viridis
from explorer.core.maps.point_groups import FlatPoints, PointGroups, flat_points, point_groups
from explorer.core.state.compute import Work
from explorer.core.state.explorer_state import Cursor, ExplorerState
from explorer.qt.atlas_item import AtlasItem
from explorer.qt.map_marks import Marks, resize_labels
from explorer.qt.map_mouse import MapScene, MapViewBox
from explorer.qt.point_cloud import IMAGE_ABOVE, PointCloudItem
from explorer.qt.vector_arrows import VectorArrows

SELECTION_COLOURS = {"A": (80, 230, 120), "B": (235, 80, 210)}
# A view estimated (from the last image) to hold this many times the atlas's most is not scanned
# for it: each pan step of a million-point map would scan every point (7 ms at a million)
CROWDED = 10
_NO_PEN = pg.mkPen(None)


class LatentMap(pg.PlotWidget):
    def __init__(self, state: ExplorerState, parent=None):
        self._vb = MapViewBox()
        super().__init__(parent=parent, viewBox=self._vb)
        self._use_scene(MapScene(parent=self))
        self.setObjectName("latentMap")
        self.state = state
        self._point_size = 4.0
        self._points = PointCloudItem(self._point_size)
        self._points.set_renderer(lambda compute, done: state.run(Work.RASTER, compute, done))
        self.addItem(self._points)
        self._atlas = AtlasItem()  # zoomed in to a few hundred points: each point as its image
        self._atlas.setZValue(4)
        self._atlas_on = True
        self.addItem(self._atlas, ignoreBounds=True)
        self._legend: pg.LegendItem | None = None
        self._colour_bar: pg.ColorBarItem | None = None
        self.plotItem.showGrid(x=False, y=False)
        self.plotItem.setMenuEnabled(False)
        for axis in ("bottom", "left"):  # latents are O(1): ticks of +-500 "(x0.001)" read as nonsense
            self.getAxis(axis).enableAutoSIPrefix(False)
        self.setAntialiasing(False)

        # overlays: a few points each, so pyqtgraph's ScatterPlotItem (sizes in pixels) is fine
        self._neighbours = Marks(symbol="o", size=9, pen=pg.mkPen(0, 220, 255, 220, width=1.5), brush=None)
        self._nearest = Marks(symbol="o", size=14, pen=pg.mkPen(255, 230, 0, width=2), brush=None)
        self._nearest.setData(pos=[(0, 0)])  # one ring, moved onto the focus: cheaper than new data
        self._nearest.hide()
        self._ellipse = pg.PlotCurveItem(pen=pg.mkPen(255, 230, 0, 200, width=1.5))
        self._prior = Marks(symbol="x", size=10, pen=pg.mkPen(255, 90, 90, width=2))
        self._pin = Marks(symbol="star", size=20, pen=pg.mkPen("w", width=1.2), brush=pg.mkBrush(255, 140, 0))
        # strip keyframes, numbered, and the figure's path through the projection
        self._strip_path = pg.PlotCurveItem(pen=pg.mkPen(255, 200, 60, 230, width=2))
        self._strip_steps = Marks(symbol="o", size=5, pen=None, brush=pg.mkBrush(255, 200, 60, 230))
        self._keyframes = Marks(symbol="s", size=13, pen=pg.mkPen("k", width=1), brush=pg.mkBrush(255, 200, 60))
        self._keyframe_numbers: list[pg.TextItem] = []
        self._selection = PointCloudItem(self._point_size + 3)
        self._selection.setZValue(5)
        self.addItem(self._selection)
        for z, item in enumerate(
            (
                self._neighbours,
                self._ellipse,
                self._nearest,
                self._prior,
                self._strip_path,
                self._strip_steps,
                self._keyframes,
            )
        ):
            item.setZValue(10 + z)
            self.addItem(item)
        self.arrows = VectorArrows(self, state, z=17)  # the moved point on top, the pin just under it
        self._pin.setZValue(19.5)
        self.addItem(self._pin)

        # what the map waits for, in its middle, while it has nothing to show
        self._busy = QtWidgets.QLabel(self)
        self._busy.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self._busy.setAttribute(QtCore.Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self._busy.setStyleSheet("color: rgb(200, 200, 200); background: transparent; font-size: 13pt")
        self._busy.hide()

        self.scene().sigMouseMoved.connect(self._on_mouse_moved)
        self._vb.clicked.connect(self._on_clicked)
        self._vb.walked.connect(self._on_walked)
        state.data_changed.connect(self._clear)
        state.projection_changed.connect(self._on_projection)
        for changed in (state.colouring_changed, state.search_changed):
            changed.connect(self._redraw_points)
            changed.connect(self._ask_atlas)
        state.focus_changed.connect(self._show_focus)
        state.focus_settled.connect(self._show_neighbours)
        state.pinned_changed.connect(self._show_pin)
        state.decoded_changed.connect(self._on_decoded)
        state.selection_changed.connect(self._show_selection)
        state.strip.figure_changed.connect(self._show_strip)
        self._vb.boxed.connect(self._on_boxed)
        self._vb.sigRangeChanged.connect(self._ask_atlas)
        self._selecting_group = ""

    def _use_scene(self, scene: pg.GraphicsScene) -> None:
        """Move the plot into `scene` (pyqtgraph's view makes its own scene, and takes no other)."""
        old = self.scene()
        self.setCentralItem(None)
        self.sceneObj = scene
        self.setScene(scene)
        self.setCentralItem(self.plotItem)
        old.deleteLater()

    # -- public -----------------------------------------------------------------------------
    def set_point_size(self, size: float) -> None:
        self._point_size = float(size)
        self._points.set_size(self._point_size)
        self._selection.set_size(self._point_size + 3)

    def set_opacity(self, opacity: float) -> None:
        self._points.setOpacity(opacity)

    def set_atlas(self, on: bool) -> None:
        """Draw each point as its image once the view holds few enough of them."""
        self._atlas_on = bool(on)
        self._ask_atlas()

    def image_is_current(self) -> bool:
        """What the map shows is drawn for its current points, colours and view (a large map's
        image comes from the compute thread a moment after a change)."""
        return self._points.image_is_current()

    def atlas_shown(self) -> np.ndarray:
        """The data points drawn as thumbnails now."""
        return self._atlas.shown()

    def set_selection_mode(self, group: str) -> None:
        """ "A" or "B": a left drag selects that group with a box; "": left drag walks again."""
        self._selecting_group = group
        self._vb.selecting = bool(group)

    def show_busy(self, text: str) -> None:
        """A line in the middle of the map while there is no map yet ("" hides it)."""
        self._busy.setText(text)
        self._busy.setVisible(bool(text) and not self.state.ready)
        self._busy.setGeometry(self.rect())

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)  # pyqtgraph calls this from its own __init__, before _busy exists
        if "_busy" in self.__dict__:
            self._busy.setGeometry(self.rect())

    def scene_point(self, xy) -> QtCore.QPointF:
        """Where the view point xy is in scene coordinates (to drive the map in tests)."""
        return self._vb.mapViewToScene(QtCore.QPointF(float(xy[0]), float(xy[1])))

    def point_counts(self) -> dict[str, int]:
        """How many points each colour group (and the dimmed set) currently draws."""
        if self.state.colouring is None or not self._points.counts():
            return {"dimmed": 0}
        dimmed, *groups = self._points.counts()
        return {**dict(zip(self.state.colouring.names, groups)), "dimmed": dimmed}

    # -- drawing ----------------------------------------------------------------------------
    def _clear(self) -> None:
        self._points.set_groups([])
        self._atlas.forget()
        self._selection.set_groups([])
        self.arrows.show()
        for item in (self._neighbours, self._prior, self._pin):
            item.setData([], [])
        self._ellipse.setData([], [])
        self._nearest.hide()

    def _on_projection(self) -> None:
        p = self.state.projection
        if p is None:  # a new model or dataset: no map until its first one is built
            self._clear()
            return
        explained = getattr(p, "explained", None)  # linear maps say how much variance each axis shows
        suffix = [f" ({100 * e:.0f}% var.)" for e in explained] if explained else ["", ""]
        # axis labels are HTML: "<mu, smiling>" must show as text, not vanish as a tag
        self.setLabel("bottom", html.escape(p.axis_labels[0] + suffix[0]))
        self.setLabel("left", html.escape(p.axis_labels[1] + suffix[1]))
        self._redraw_points()
        self._show_focus()
        self._show_neighbours()
        self._show_pin(self.state.pinned)
        self.arrows.show()
        self._show_selection()
        self._show_strip()
        prior = self.state.decoded.get("prior")
        if prior is not None:
            self._on_decoded("prior", prior)
        # framed now, not at the next paint (the cursor maps through it), from the map's own bounds
        (x0, y0), (x1, y1) = self.state.map.lo, self.state.map.hi
        self._vb.setRange(xRange=(x0, x1), yRange=(y0, y1), padding=0.03)
        self._ask_atlas()

    def _ask_atlas(self, *_) -> None:
        """Which points the view holds, and the thumbnails not made yet (on the compute thread)."""
        s = self.state
        if not (self._atlas_on and s.ready and s.coords is not None and has_images(s.dataset)):
            self._atlas.show_points(np.zeros(0, np.intp), np.zeros((0, 2)))
            return
        (x0, x1), (y0, y1) = self._vb.viewRange()
        about = self._points.points_in(x1 - x0, y1 - y0)
        if about is not None and about > CROWDED * ATLAS_MOST:  # a large map far from an atlas: no O(N) scan
            self._atlas.show_points(np.zeros(0, np.intp), np.zeros((0, 2)))
            return
        coords, dataset, made = s.coords, s.dataset, self._atlas.made()

        def show(view: AtlasView) -> None:
            if coords is not s.coords or not self._atlas_on:
                return  # another map or dataset meanwhile; or switched off
            i, c, mask = view.indices, s.colouring, s.search_mask
            colours = None if c is None else np.array(c.colours)[c.groups[i]]
            self._atlas.show_points(i, coords[i], view.thumbnails, colours, None if mask is None else ~mask[i])

        s.run(Work.THUMBNAILS, lambda: atlas_view(coords, dataset, (x0, x1, y0, y1), made), show)

    def _redraw_points(self, *_):
        """Group the points by colour on the compute thread (a large map: flat columns, drawn
        as an image); draw them when they come."""
        s = self.state
        if s.coords is None or s.colouring is None:
            return
        coords, colouring, mask = s.coords, s.colouring, s.search_mask
        flat = len(coords) > IMAGE_ABOVE

        def show(points: PointGroups | FlatPoints) -> None:
            if (coords, colouring, mask) != (s.coords, s.colouring, s.search_mask):
                return  # the map changed meanwhile; a newer grouping follows
            # The cursor's overlays change on every mouse move; with the points cached in device
            # pixels, a move repaints the overlays over one cached layer instead of every point.
            # A large map's paint is already one image's blit, and a cache would keep (and
            # scroll) the image of the last view where a pan needs the points coming into view.
            cache = QtWidgets.QGraphicsItem.CacheMode
            if isinstance(points, FlatPoints):
                self._points.setCacheMode(cache.NoCache)
                self._points.set_flat(points)
            else:
                self._points.setCacheMode(cache.DeviceCoordinateCache)
                self._points.set_groups(points.groups, None if points.lo is None else (points.lo, points.hi))
            self._update_key(colouring)

        s.run(Work.POINTS, lambda: (flat_points if flat else point_groups)(coords, colouring, mask), show)

    def _update_key(self, c) -> None:
        for old in (self._legend, self._colour_bar):
            if old is not None and old.scene() is not None:
                if old is self._colour_bar:
                    self.plotItem.layout.removeItem(old)
                old.scene().removeItem(old)
        self._legend = self._colour_bar = None
        if c.continuous:
            stops = np.linspace(0, 1, 9)
            cmap = pg.ColorMap(stops, viridis(stops).astype(np.ubyte))
            self._colour_bar = pg.ColorBarItem(
                values=c.value_range, colorMap=cmap, interactive=False, label=html.escape(c.title), width=14
            )
            self._colour_bar.axis.enableAutoSIPrefix(False)
            self._colour_bar.axis.setWidth(None)  # as wide as its tick labels (it is 45 px otherwise)
            self.plotItem.layout.addItem(self._colour_bar, 2, 5)
        elif len(c.colours) > 1:
            self._legend = pg.LegendItem(
                offset=(-10, 10), labelTextColor=(230, 230, 230), brush=pg.mkBrush(0, 0, 0, 150)
            )
            self._legend.setParentItem(self.plotItem.vb)
            for rgb, name in zip(c.colours, c.names):  # legend samples drawn like scatter symbols
                sample = pg.ScatterPlotItem(symbol="o", size=8, pen=_NO_PEN, brush=pg.mkBrush(*rgb))
                self._legend.addItem(sample, html.escape(name))

    def _show_focus(self, *_) -> None:
        """The ring on the focus and its posterior's ellipse. Its neighbours' rings belong to the
        focus the cursor last rested on: hidden while the cursor is on another."""
        s = self.state
        focus = s.focus
        if focus is None or s.coords is None:
            return
        self._nearest.setPos(*s.coords[focus])
        self._nearest.show()
        ellipse = s.posterior_ellipse(focus)
        self._ellipse.setData(*(ellipse.T if ellipse is not None else ([], [])))
        self._neighbours.setVisible(focus == s.settled_focus)

    def _show_neighbours(self, *_) -> None:
        s = self.state
        if s.settled_focus is None or s.coords is None:
            return
        self._neighbours.setData(pos=s.coords[s.latent_neighbours(s.settled_focus)])
        self._neighbours.setVisible(s.settled_focus == s.focus)

    def _show_pin(self, pinned: Cursor | None) -> None:
        if pinned is None:
            self._pin.setData([], [])
        else:
            self._pin.setData(pos=[pinned.map_xy])

    def _show_strip(self) -> None:
        s = self.state
        positions = s.strip.keyframe_positions()
        resize_labels(self, self._keyframe_numbers, len(positions), color=(255, 220, 120), anchor=(-0.3, 1.1))
        for i, (text, xy) in enumerate(zip(self._keyframe_numbers, positions)):
            text.setText(str(i + 1))
            text.setPos(*xy)
        self._keyframes.setData(pos=positions)
        figure = s.strip.figure
        if figure is None or s.projection is None:
            self._strip_path.setData([], [])
            self._strip_steps.setData([], [])
            return
        xy = s.projection.transform(figure.latents)
        self._strip_steps.setData(pos=xy)
        # a strip is drawn as one line; a grid as its rows (a line per row, not joined)
        cols = figure.columns if figure.spec.kind in (F.GRID, F.ANALOGY) else len(xy)
        connect = np.ones(len(xy), bool)
        connect[cols - 1 :: cols] = False
        self._strip_path.setData(*xy.T, connect=connect)

    def _show_selection(self, *_) -> None:
        s = self.state
        if s.coords is None:
            return
        self._selection.set_groups([(s.coords[s.selection[g]], SELECTION_COLOURS[g]) for g in "AB"])

    def _on_boxed(self, a, b) -> None:
        if self._selecting_group and self.state.ready:
            self.state.select_in_rect(self._selecting_group, a.x(), a.y(), b.x(), b.y())

    def _on_decoded(self, slot: str, decoded) -> None:
        if slot == "prior" and self.state.projection is not None:
            self._prior.setData(pos=self.state.projection.transform(decoded.latents))

    # -- mouse ------------------------------------------------------------------------------
    def _view_point(self, scene_pos) -> np.ndarray | None:
        if not self._vb.sceneBoundingRect().contains(scene_pos):
            return None
        p = self._vb.mapSceneToView(scene_pos)
        return np.array([p.x(), p.y()])

    def _on_mouse_moved(self, scene_pos) -> None:
        xy = self._view_point(scene_pos)
        if xy is not None:
            self.state.move_cursor(xy)

    def _on_clicked(self, view_point, modifiers) -> None:
        cursor = self.state.move_cursor(np.array([view_point.x(), view_point.y()]))
        if cursor is None:
            return
        if modifiers == QtCore.Qt.KeyboardModifier.ShiftModifier:
            self.state.strip.add_data_point(cursor.nearest)
        elif modifiers == QtCore.Qt.KeyboardModifier.NoModifier:
            self.state.pin(cursor)

    def _on_walked(self, view_point) -> None:
        cursor = self.state.move_cursor(np.array([view_point.x(), view_point.y()]))
        if cursor is not None:
            self.state.pin(cursor)
