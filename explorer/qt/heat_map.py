"""The disentanglement panel's heat map: latent dims (rows) against labelled factors (columns),
each cell coloured as the CLI's heat map (disentanglement.colour_scale), its value in its
tooltip, each factor's top cell in bold; and which two dims a cell maps against each other."""

from __future__ import annotations

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from explorer.core.space import disentanglement as D

# the matrices the selector offers: key (a Disentanglement field), name, what it means
MATRICES = {
    "normalised_mi": (
        "normalised MI",
        "normalised mutual information MI(z_d; v_k) / H(v_k): 0 = the dim says nothing of the factor, "
        "1 = it determines it (MIG is each factor's top minus its second)",
    ),
    "importance": (
        "DCI importance",
        "how much boosted trees predicting the factor from all of z rely on each dim (permutation "
        "importance on held-out points; each factor's column sums to 1)",
    ),
    "sap_scores": (
        "SAP scores",
        "how well each dim alone predicts the factor on held-out points: R² (continuous factor) or "
        "chance-adjusted balanced accuracy (discrete); SAP is each factor's top minus its second",
    ),
    "mutual_info": ("MI (nats)", "mutual information MI(z_d; v_k) in nats; the colours run from 0 to the largest"),
}
CELL_FONT_SCALE = 0.9  # the heat map's font against the panel's
NO_VALUE = (200, 200, 200)  # a cell whose value is not a number (as the CLI's heat map draws it)


def scale_top(d: D.Disentanglement, which: str) -> float:
    """The value the colour scale's top stands for: 1, or the largest MI for MI in nats (as
    disentanglement.heatmap_image scales it)."""
    if which != "mutual_info":
        return 1.0
    values = np.asarray(d.mutual_info, np.float64)
    finite = values[np.isfinite(values)]
    return float(finite.max()) if len(finite) and finite.max() > 0 else 1.0


def cell_colours(d: D.Disentanglement, which: str) -> np.ndarray:
    """(D, K, 3) uint8: each cell's colour in the heat map of matrix `which`."""
    values = np.asarray(getattr(d, which), np.float64)
    colours = D.colour_scale(np.nan_to_num(values / scale_top(d, which)))
    colours[~np.isfinite(values)] = NO_VALUE
    return colours


def map_pair(d: D.Disentanglement, which: str, row: int, column: int) -> tuple[int, int]:
    """(x, y) latent dims for the raw-dims map from cell (row, column) of matrix `which`: x is the
    cell's dim; y is the factor's second-ranked dim in that matrix when x is its top one, else the
    top one (ties go to the lower dim, as best_dim's)."""
    order = _ranked(d, which, column)
    other = order[1] if order[0] == row else order[0]
    return d.dims[row], d.dims[int(other)]


def _ranked(d: D.Disentanglement, which: str, column: int) -> np.ndarray:
    """The rows of matrix `which`, the factor `column`'s largest value first (NaN last)."""
    values = np.nan_to_num(np.asarray(getattr(d, which), np.float64)[:, column], nan=-np.inf)
    return np.argsort(-values, kind="stable")


def pair_text(d: D.Disentanglement, which: str, row: int, column: int) -> str:
    """'zX against zY (factor's top dim by matrix)': what map_pair's map shows."""
    x, y = map_pair(d, which, row, column)
    role = "second" if _ranked(d, which, column)[0] == row else "top"
    return f"z{x} against z{y} ({d.factors[column]}'s {role} dim by {MATRICES[which][0]})"


class _UpwardHeader(QtWidgets.QHeaderView):
    """Column names written upwards, so that columns as narrow as their values keep long factor
    names whole."""

    PAD = 6

    def __init__(self, parent=None):
        super().__init__(QtCore.Qt.Orientation.Horizontal, parent)
        self.setSectionResizeMode(QtWidgets.QHeaderView.ResizeMode.Fixed)
        self.setSectionsClickable(False)
        self.setHighlightSections(False)

    def _text(self, index: int) -> str:
        model = self.model()
        return "" if model is None else str(model.headerData(index, self.orientation()) or "")

    def sectionSizeFromContents(self, index: int) -> QtCore.QSize:
        fm = self.fontMetrics()
        return QtCore.QSize(fm.height() + self.PAD, fm.horizontalAdvance(self._text(index)) + 2 * self.PAD)

    def paintSection(self, painter: QtGui.QPainter, rect: QtCore.QRect, index: int) -> None:
        if not rect.isValid():
            return
        option = QtWidgets.QStyleOptionHeader()
        self.initStyleOption(option)
        option.rect, option.section, option.text = rect, index, ""
        painter.save()
        self.style().drawControl(QtWidgets.QStyle.ControlElement.CE_Header, option, painter, self)
        painter.restore()
        painter.save()
        painter.setPen(self.palette().color(QtGui.QPalette.ColorRole.ButtonText))
        painter.translate(rect.left(), rect.bottom())
        painter.rotate(-90)  # x now runs up the column, y across it
        area = QtCore.QRect(self.PAD, 0, rect.height() - 2 * self.PAD, rect.width())
        painter.drawText(
            area, QtCore.Qt.AlignmentFlag.AlignLeft | QtCore.Qt.AlignmentFlag.AlignVCenter, self._text(index)
        )
        painter.restore()


class HeatMap(QtWidgets.QTableWidget):
    """Latent dims (rows) against factors (columns), a coloured cell each. A click on a cell says
    `cell_clicked(row, column, shift)`; Return / Shift+Return on the current cell says the same."""

    cell_clicked = QtCore.Signal(int, int, bool)
    menu_asked = QtCore.Signal(int, int, QtCore.QPoint)  # row, column, global position

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("disentanglementHeatMap")
        self.setHorizontalHeader(_UpwardHeader(self))
        self.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        # a selection's highlight would hide the cell's colour: the current cell has a focus frame
        self.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.NoSelection)
        self.viewport().setCursor(QtCore.Qt.CursorShape.PointingHandCursor)
        small = QtGui.QFont(self.font())  # a little smaller: ten factors' columns fit a dock
        small.setPointSizeF(small.pointSizeF() * CELL_FONT_SCALE)
        self.setFont(small)
        bold = QtGui.QFont(small)
        bold.setBold(True)  # each factor's top cell is written in bold
        fm = QtGui.QFontMetrics(bold)
        margin = self.style().pixelMetric(QtWidgets.QStyle.PixelMetric.PM_FocusFrameHMargin, None, self) + 1
        self.cell_width, self.cell_height = fm.horizontalAdvance("0.00") + 2 * margin + 4, fm.height() + 6
        columns = self.horizontalHeader()
        columns.setDefaultSectionSize(self.cell_width)
        columns.setMinimumSectionSize(self.cell_width)
        rows = self.verticalHeader()
        rows.setSectionResizeMode(QtWidgets.QHeaderView.ResizeMode.Fixed)
        rows.setDefaultSectionSize(self.cell_height)
        rows.setMinimumSectionSize(self.cell_height)
        rows.setSectionsClickable(False)
        rows.setHighlightSections(False)
        # as tall as its rows (no blank under them), shorter with a scroll bar in a short dock;
        # as wide as its columns, narrower with a scroll bar in a narrow one
        self.setSizeAdjustPolicy(QtWidgets.QAbstractScrollArea.SizeAdjustPolicy.AdjustToContents)
        self.setSizePolicy(QtWidgets.QSizePolicy.Policy.Preferred, QtWidgets.QSizePolicy.Policy.Maximum)
        self.setContextMenuPolicy(QtCore.Qt.ContextMenuPolicy.DefaultContextMenu)

    def cell_rect(self, row: int, column: int) -> QtCore.QRect:
        """The cell's rectangle in the viewport's pixels."""
        return self.visualRect(self.model().index(row, column))

    def mouseReleaseEvent(self, event: QtGui.QMouseEvent) -> None:
        super().mouseReleaseEvent(event)
        index = self.indexAt(event.position().toPoint())
        if event.button() == QtCore.Qt.MouseButton.LeftButton and index.isValid():
            shift = bool(event.modifiers() & QtCore.Qt.KeyboardModifier.ShiftModifier)
            self.cell_clicked.emit(index.row(), index.column(), shift)

    def keyPressEvent(self, event: QtGui.QKeyEvent) -> None:
        index = self.currentIndex()
        if event.key() in (QtCore.Qt.Key.Key_Return, QtCore.Qt.Key.Key_Enter) and index.isValid():
            shift = bool(event.modifiers() & QtCore.Qt.KeyboardModifier.ShiftModifier)
            self.cell_clicked.emit(index.row(), index.column(), shift)
            return
        super().keyPressEvent(event)

    def contextMenuEvent(self, event: QtGui.QContextMenuEvent) -> None:
        index = self.indexAt(self.viewport().mapFrom(self, event.pos()))
        if index.isValid():
            self.setCurrentIndex(index)
            self.menu_asked.emit(index.row(), index.column(), event.globalPos())
