"""How the map takes the mouse: a scene that does not search for the items under the cursor on
every move, and a view box where a left click pins, a left drag walks (or boxes a selection)
and Ctrl/middle drags pan, as pyqtgraph's own do."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets


class MapScene(pg.GraphicsScene):
    """pyqtgraph's scene, without its search for the items near the cursor on every move.

    pyqtgraph sends its HoverEvents to the items near the cursor after every move; finding them
    asks every item for its bounds and shape, a third of a move's cost on the map. On the map
    they serve the plot (it shows its auto-range button while the mouse is over it) and the
    click and drag dispatch, which pyqtgraph refreshes itself on a press and a release. So they
    are sent on the first move into the map and after a press or release, not on every move."""

    def __init__(self, parent=None):
        super().__init__(parent=parent)
        self._hover_sent = False  # a move sent them; a leave, press or release (each sends its own) clears it

    def sendHoverEvents(self, ev, exitOnly=False) -> None:
        moved = not exitOnly and ev.type() == QtCore.QEvent.Type.GraphicsSceneMouseMove
        if not (moved and self._hover_sent):
            super().sendHoverEvents(ev, exitOnly)
        self._hover_sent = moved


class MapViewBox(pg.ViewBox):
    """Left click pins, left drag walks (or draws a selection box in select mode);
    Ctrl/middle drag pans as usual."""

    clicked = QtCore.Signal(object, object)  # view point (QPointF), modifiers
    walked = QtCore.Signal(object)  # view point (QPointF)
    boxed = QtCore.Signal(object, object)  # two corners (QPointF) of a selection box

    def __init__(self):
        super().__init__()
        self.selecting = False
        self._box = QtWidgets.QGraphicsRectItem()
        self._box.setPen(pg.mkPen(255, 255, 255, 200, width=1, style=QtCore.Qt.PenStyle.DashLine))
        self._box.setBrush(pg.mkBrush(255, 255, 255, 30))
        self._box.setZValue(1e9)
        self._box.hide()
        self.addItem(self._box, ignoreBounds=True)

    def mouseClickEvent(self, ev) -> None:
        if ev.button() == QtCore.Qt.MouseButton.LeftButton:
            ev.accept()
            self.clicked.emit(self.mapSceneToView(ev.scenePos()), ev.modifiers())
        else:
            super().mouseClickEvent(ev)

    def mouseDragEvent(self, ev, axis=None) -> None:
        plain_left = (
            ev.button() == QtCore.Qt.MouseButton.LeftButton and ev.modifiers() == QtCore.Qt.KeyboardModifier.NoModifier
        )
        if plain_left and self.selecting:
            ev.accept()
            a, b = self.mapSceneToView(ev.buttonDownScenePos()), self.mapSceneToView(ev.scenePos())
            self._box.setRect(QtCore.QRectF(a, b).normalized())
            self._box.setVisible(not ev.isFinish())
            if ev.isFinish():
                self.boxed.emit(a, b)
        elif plain_left:
            ev.accept()
            self.walked.emit(self.mapSceneToView(ev.scenePos()))
        else:
            super().mouseDragEvent(ev, axis)
