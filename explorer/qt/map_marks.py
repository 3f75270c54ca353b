"""What the map draws over its points: marks that never take the mouse, and reusable labels."""

from __future__ import annotations

import pyqtgraph as pg


class Marks(pg.ScatterPlotItem):
    """A few marks drawn over the map (the ring on the nearest point, the pin, keyframes...).

    pyqtgraph offers a click first to the topmost item near it, and a scatter takes any click
    on one of its symbols: the ring drawn around the point under the cursor would swallow
    every click meant for the map. Marks only show; the map beneath handles the mouse."""

    def mouseClickEvent(self, ev) -> None:
        ev.ignore()


def resize_labels(plot: pg.PlotWidget, labels: list[pg.TextItem], n: int, color, anchor, fill=None) -> None:
    """Keep exactly n text items in `labels` (reused between updates, not rebuilt)."""
    while len(labels) > n:
        plot.removeItem(labels.pop())
    while len(labels) < n:
        text = pg.TextItem(color=color, anchor=anchor, fill=fill)
        text.setZValue(25)
        plot.addItem(text)
        labels.append(text)
