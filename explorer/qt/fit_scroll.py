"""A scroll area for a dock's panel that scrolls only when the panel cannot fit.

QScrollArea's widgetResizable sizes a panel whose layout has height-for-width items (word-
wrapped labels) to its *preferred* height, so a panel with a large preferred image scrolls
on a screen where it could fit. Without a scroll area, a dock squeezed below its panel's
minimum draws labels over images. This one gives the panel the viewport's size, or the
layout's minimum height for that width when that is more, and scrolls the rest.
"""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets


class FitScrollArea(QtWidgets.QScrollArea):
    def __init__(self, panel: QtWidgets.QWidget, parent=None):
        super().__init__(parent)
        self.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        self.setWidgetResizable(False)
        self.setWidget(panel)
        panel.installEventFilter(self)  # its contents change what it needs

    def _fit(self) -> None:
        panel, room = self.widget(), self.maximumViewportSize()
        width = max(room.width(), panel.minimumSizeHint().width())
        if width > room.width():  # a horizontal scroll bar takes some of the height
            room.setHeight(room.height() - self.horizontalScrollBar().sizeHint().height())
        layout = panel.layout()
        least = layout.totalMinimumHeightForWidth(width) if layout is not None else panel.minimumHeight()
        if least > room.height() and width == room.width():  # a vertical one takes some width
            width = max(width - self.verticalScrollBar().sizeHint().width(), panel.minimumSizeHint().width())
            least = layout.totalMinimumHeightForWidth(width) if layout is not None else least
        height = max(room.height(), least)
        if panel.size() != QtCore.QSize(width, height):
            panel.resize(width, height)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit()

    def eventFilter(self, watched, event) -> bool:
        if watched is self.widget() and event.type() == QtCore.QEvent.Type.LayoutRequest:
            self._fit()
        return super().eventFilter(watched, event)

    def minimumSizeHint(self) -> QtCore.QSize:
        return QtCore.QSize(120, 60)  # the rest scrolls

    def sizeHint(self) -> QtCore.QSize:
        return self.widget().sizeHint()
