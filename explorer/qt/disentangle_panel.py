"""The disentanglement panel: how one-to-one are the latent dimensions and the data's labelled
factors? The figures of `vae-explorer disentangle` (explorer.core.space.disentanglement) in a dock.

- With labels and encodings in, `disentanglement.measure` runs on the compute thread
  (Work.DISENTANGLEMENT; a newer request replaces a pending one) the first time the panel is on
  screen for those encodings (painted: a dock's tab behind another is not): seconds of CPU, spent
  only when someone looks. "measuring …" says so meanwhile.
- MIG, SAP and DCI's three figures at the top; under them a heat map of the latent dims (rows)
  against the factors (columns) of the matrix chosen (normalised MI, DCI importance, SAP scores,
  MI in nats), coloured as the CLI's heat map (disentanglement.colour_scale), each factor's top
  cell in bold, each cell's value in its tooltip.
- A click on a cell asks for the traversal of its dim (`dimension_chosen`); Shift+click (or the
  cell's context menu) maps that dim against the factor's other top dim: x = the dim clicked,
  y = the factor's second-ranked dim in the matrix shown, or its top one when the dim clicked is
  not the top one.

A new model or dataset clears what was shown; an answer about other encodings is never shown (the
controller drops other generations' answers, and the panel keeps only answers about the encodings
it shows). Data without labels gets a line saying so.
"""

from __future__ import annotations

import logging
import math

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from explorer.core.figures.compose import text_colour
from explorer.core.space import disentanglement as D
from explorer.core.state.compute import Work
from explorer.core.state.explorer_state import ExplorerState
from explorer.qt.heat_map import MATRICES, HeatMap, cell_colours, map_pair, pair_text, scale_top

log = logging.getLogger(__name__)

GLOSSES = {  # name: a few words beside its value (each runs 0 to 1, 1 the best; the tooltip says more)
    "MIG": "factor in one dim, by MI",
    "SAP": "factor read off one dim",
    "DCI disentanglement": "one factor per dim",
    "DCI completeness": "one dim per factor",
    "DCI informativeness": "z predicts the factors",
}
FIGURES = {  # name: what it means (the tooltip)
    "MIG": "mutual information gap (Chen et al. 2018): per factor, (top − second normalised MI over the dims), "
    "averaged over the factors; 1 = each factor lives in one dim alone",
    "SAP": "separated attribute predictability (Kumar et al. 2018): per factor, the top − second score of one "
    "dim alone, averaged over the factors",
    "DCI disentanglement": "Eastwood & Williams 2018: does each dim predict at most one factor? (1 − the entropy "
    "of its importance over the factors, weighted by its share of the importance)",
    "DCI completeness": "is each factor predicted by one dim alone? (1 − the entropy of its importance over the "
    "dims, averaged over the factors)",
    "DCI informativeness": "how well boosted trees predict each factor from all of z on held-out points: "
    "accuracy (discrete) or R² (continuous), averaged over the factors",
}
NO_LABELS = (
    "This dataset has no labels: disentanglement (MIG, DCI, SAP) is measured against labelled factors "
    "(e.g. builtin:faces, an .npz with label arrays beside the images, or a folder with a labels file)."
)
WAITING = "Waiting for the data's encodings …"
MIN_ROWS = 6  # rows of the heat map the panel keeps in view in a short dock
HINT = "Click a cell: the traversal of its dim. Shift+click or right-click: map it against the factor's other top dim."


def _num(x: float) -> str:
    return f"{x:.3f}" if math.isfinite(x) else "n/a"


class DisentanglePanel(QtWidgets.QWidget):
    dimension_chosen = QtCore.Signal(int)  # a cell was clicked: show the traversal of its dim
    _painted = QtCore.Signal()  # queued to itself: the panel was painted, so it is on screen

    def __init__(self, state: ExplorerState, parent=None):
        super().__init__(parent)
        self.setObjectName("disentanglePanel")
        self.state = state
        self.result: D.Disentanglement | None = None  # what is shown (of state.encodings)
        self.seed = 0  # as `vae-explorer disentangle --seed`
        self._asked = None  # the encodings a measure was asked for (measured once per encodings)
        self._build()
        self._painted.connect(self._measure_if_shown, QtCore.Qt.ConnectionType.QueuedConnection)
        state.model_changed.connect(self._on_data)
        state.data_changed.connect(self._on_data)
        self._on_data()

    # -- construction ----------------------------------------------------------------------
    def _build(self) -> None:
        self.status = QtWidgets.QLabel()  # what is happening while there are no figures
        self.status.setObjectName("disentanglementStatus")
        self.status.setWordWrap(True)
        self.figures: dict[str, QtWidgets.QLabel] = {}
        self.figures_box = QtWidgets.QWidget()
        grid = QtWidgets.QGridLayout(self.figures_box)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setVerticalSpacing(2)
        grid.setHorizontalSpacing(12)
        for i, (name, meaning) in enumerate(FIGURES.items()):
            label, value, gloss = QtWidgets.QLabel(name), QtWidgets.QLabel(), QtWidgets.QLabel(GLOSSES[name])
            value.setTextFormat(QtCore.Qt.TextFormat.PlainText)
            value.setStyleSheet("font-weight: bold")
            value.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
            gloss.setStyleSheet("color: palette(placeholder-text)")
            gloss.setWordWrap(True)
            for w in (label, value, gloss):
                w.setToolTip(meaning)
            grid.addWidget(label, i, 0)
            grid.addWidget(value, i, 1, QtCore.Qt.AlignmentFlag.AlignRight)
            grid.addWidget(gloss, i, 2)
            self.figures[name] = value
        grid.setColumnStretch(2, 1)
        self.facts = QtWidgets.QLabel()  # points, fit points, seed, factors left out
        self.facts.setObjectName("disentanglementFacts")
        self.facts.setWordWrap(True)
        self.facts.setStyleSheet("color: palette(placeholder-text)")
        grid.addWidget(self.facts, len(FIGURES), 0, 1, 3)

        self.matrix = QtWidgets.QComboBox()
        for key, (name, meaning) in MATRICES.items():
            self.matrix.addItem(name, key)
            self.matrix.setItemData(self.matrix.count() - 1, meaning, QtCore.Qt.ItemDataRole.ToolTipRole)
        self.matrix.setToolTip("the matrix the heat map shows")
        self.matrix.currentIndexChanged.connect(self._draw)
        self.scale = QtWidgets.QLabel()  # the colour scale: 0 at the left, the top at the right
        self.scale_low, self.scale_high = QtWidgets.QLabel("0"), QtWidgets.QLabel("1")
        self.copy_button = QtWidgets.QPushButton("Copy all")
        self.copy_button.setToolTip("the figures as `vae-explorer disentangle` prints them")
        self.copy_button.clicked.connect(self.copy)
        self.table = HeatMap()
        self.table.cell_clicked.connect(self._on_cell)
        self.table.menu_asked.connect(self._on_menu)
        self.hint = QtWidgets.QLabel(HINT)
        self.hint.setWordWrap(True)
        self.hint.setStyleSheet("color: palette(placeholder-text)")

        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(self.status)
        layout.addWidget(self.figures_box)
        self.controls = QtWidgets.QWidget()
        row = QtWidgets.QHBoxLayout(self.controls)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.matrix)
        for w in (self.scale_low, self.scale, self.scale_high):
            row.addWidget(w)
        row.addStretch(1)
        layout.addWidget(self.controls)
        layout.addWidget(self.table)
        self.footer = QtWidgets.QWidget()
        row = QtWidgets.QHBoxLayout(self.footer)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.hint, stretch=1)
        row.addWidget(self.copy_button, alignment=QtCore.Qt.AlignmentFlag.AlignTop)
        layout.addWidget(self.footer)
        layout.addStretch(1)
        self._draw_scale()

    def _draw_scale(self) -> None:
        width, height = 56, max(8, self.fontMetrics().height() - 4)
        ramp = np.ascontiguousarray(np.repeat(D.colour_scale(np.linspace(0, 1, width))[None], height, 0))
        image = QtGui.QImage(ramp.data, width, height, 3 * width, QtGui.QImage.Format.Format_RGB888)
        self.scale.setPixmap(QtGui.QPixmap.fromImage(image.copy()))

    @property
    def which(self) -> str:
        """The matrix shown (a key of MATRICES)."""
        return self.matrix.currentData()

    # -- state -> panel --------------------------------------------------------------------
    def clear(self, text: str = WAITING) -> None:
        """Forget what was shown; a measure under way is left to be dropped."""
        self.result = None
        self.status.setText(text)
        self.status.show()
        for w in (self.figures_box, self.controls, self.table, self.footer):
            w.hide()
        self.table.clear()
        self.table.setRowCount(0)
        self.table.setColumnCount(0)
        self.copy_button.setEnabled(False)

    def _on_data(self) -> None:
        self._asked = None
        s = self.state
        if s.dataset is not None and not s.dataset.label_names:
            self.clear(NO_LABELS)
            return
        self.clear()
        self._measure_if_shown()

    def _wanted(self) -> bool:
        """Encodings with labels that were not measured yet."""
        s = self.state
        return (
            s.encodings is not None
            and s.dataset is not None
            and bool(s.dataset.label_names)
            and (self._asked is not s.encodings)
        )

    def paintEvent(self, event: QtGui.QPaintEvent) -> None:
        # Painted: on screen. A dock's tab behind another is neither painted nor hidden (its
        # isVisible() stays true), so being painted is what says that someone can see the panel.
        super().paintEvent(event)
        if self._wanted():
            self._painted.emit()  # measured after the paint, not in it

    def _measure_if_shown(self) -> None:
        """Measure the encodings shown, once, when the panel is on screen (seconds of CPU)."""
        if not self._wanted() or not self.isVisible() or self.visibleRegion().isEmpty():
            return
        s = self.state
        encodings, dataset = s.encodings, s.dataset
        names = tuple(dataset.label_names)
        self._asked, seed = encodings, self.seed
        self.status.setText(
            f"measuring … (MIG, DCI and SAP of {encodings.mu.shape[1]} dims against {len(names)} labelled "
            f"factor{'s' if len(names) != 1 else ''} on {len(encodings):,} points: seconds on an idle CPU, "
            "up to a minute on a busy one)"
        )

        def measure():  # a step per factor (Work.DISENTANGLEMENT is STEPPED): other work goes between
            try:
                return (yield from D.measure_steps(encodings.mu, D.factors_of(dataset, names), seed=seed))
            except D.DisentanglementError as e:  # labels it cannot use: said in the panel
                return e
            except Exception as e:  # said in the panel too, which would otherwise say "measuring …" on
                log.exception("measuring disentanglement failed")
                return RuntimeError(f"{type(e).__name__}: {e}")

        def done(result) -> None:
            if encodings is not s.encodings or self._asked is not encodings:
                return  # about encodings swapped out meanwhile
            if isinstance(result, Exception):
                self.status.setText(f"No disentanglement figures: {result}")
                return
            self._show(result)

        s.run(Work.DISENTANGLEMENT, measure, done)

    def _show(self, result: D.Disentanglement) -> None:
        self.result = result
        self.status.hide()
        for name, value in (
            ("MIG", result.mig),
            ("SAP", result.sap),
            ("DCI disentanglement", result.dci_disentanglement),
            ("DCI completeness", result.dci_completeness),
            ("DCI informativeness", result.dci_informativeness),
        ):
            self.figures[name].setText(_num(value))
        held = round(result.fit_points * D.TEST_FRACTION)
        facts = [
            f"{result.n_points:,} points; SAP, DCI fit on {result.fit_points - held:,}, scored on {held:,} "
            f"(seed {result.seed})"
        ]
        if len(result.factors) == 1:
            facts.append("DCI disentanglement needs two factors or more")
        if result.left_out:
            facts.append("left out: " + "; ".join(f"{name} ({why})" for name, why in result.left_out.items()))
        self.facts.setText(". ".join(facts))
        self.facts.setToolTip(
            f"MI on every one of the {result.n_points:,} points; the SAP and DCI models fit on a seeded sample "
            f"of at most {result.fit_points - held:,} points per factor and are scored on {held:,} others"
        )
        for w in (self.figures_box, self.controls, self.table, self.footer):
            w.show()
        self.copy_button.setEnabled(True)
        self._draw()

    def _draw(self) -> None:
        """The heat map of the matrix chosen."""
        d, table = self.result, self.table
        if d is None:
            return
        which = self.which
        name, meaning = MATRICES[which]
        values = np.asarray(getattr(d, which), np.float64)
        colours = cell_colours(d, which)
        top = scale_top(d, which)
        self.scale_high.setText(f"{top:.2f}")
        for w in (self.scale, self.scale_low, self.scale_high):
            w.setToolTip(f"the colours of {name}: 0 at the left, {top:.2f} at the right")
        table.setToolTip(f"{meaning}. {HINT}")
        table.setRowCount(len(d.dims))
        table.setColumnCount(len(d.factors))
        table.setHorizontalHeaderLabels(list(d.factors))
        table.setVerticalHeaderLabels([f"z{u}" for u in d.dims])
        # in a short dock the panel scrolls rather than squeeze the map below its names and a few rows
        rows = min(len(d.dims), MIN_ROWS)
        table.setMinimumHeight(
            table.horizontalHeader().sizeHint().height()
            + rows * table.cell_height
            + table.horizontalScrollBar().sizeHint().height()
            + 2 * table.frameWidth()
        )
        for j, factor in enumerate(d.factors):
            header = table.horizontalHeaderItem(j)
            header.setToolTip(
                f"{factor} ({d.kinds[j]}): best dim z{d.best_dim(factor)} by normalised MI; MIG "
                f"{_num(d.mig_per_factor[factor])}, SAP {_num(d.sap_per_factor[factor])}, informativeness "
                f"{_num(d.informativeness_per_factor[factor])}"
            )
        finite = np.where(np.isfinite(values), values, -np.inf)
        tops = finite.argmax(0)  # each factor's top cell (the lowest dim on a tie)
        bold = QtGui.QFont(table.font())
        bold.setBold(True)
        for i, u in enumerate(d.dims):
            for j, factor in enumerate(d.factors):
                value = values[i, j]
                colour = tuple(int(c) for c in colours[i, j])
                item = QtWidgets.QTableWidgetItem(f"{value:.2f}" if math.isfinite(value) else "")
                item.setData(QtCore.Qt.ItemDataRole.UserRole, float(value))
                item.setTextAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
                item.setBackground(QtGui.QColor(*colour))
                item.setForeground(QtGui.QColor(*text_colour(colour)))
                top_cell = i == tops[j] and math.isfinite(value)
                if top_cell:
                    item.setFont(bold)
                item.setToolTip(
                    f"z{u} × {factor}: {name} {value:.3f}"
                    + (f" (the top dim for {factor})" if top_cell else "")
                    + f"\nclick: the traversal of z{u}\nShift+click: map {pair_text(d, which, i, j)}"
                )
                table.setItem(i, j, item)

    # -- actions ----------------------------------------------------------------------------
    def _on_cell(self, row: int, column: int, shift: bool) -> None:
        if shift:
            self.map_cell(row, column)
        else:
            self.choose_cell(row, column)

    def choose_cell(self, row: int, column: int) -> None:
        """The traversal of the cell's dim."""
        if self.result is not None:
            self.dimension_chosen.emit(int(self.result.dims[row]))

    def map_cell(self, row: int, column: int) -> None:
        """The map of raw dims map_pair gives for the cell."""
        d = self.result
        if d is None or self.state.encodings is None:
            return
        self.state.set_raw_dims(*map_pair(d, self.which, row, column))
        self.state.say(f"map: {pair_text(d, self.which, row, column)}")

    def cell_menu(self, row: int, column: int) -> QtWidgets.QMenu:
        """The cell's context menu: its traversal, or the map of its dims."""
        d = self.result
        menu = QtWidgets.QMenu(self)
        menu.addAction(f"Traversal of z{d.dims[row]}", lambda: self.choose_cell(row, column))
        menu.addAction(f"Map {pair_text(d, self.which, row, column)}", lambda: self.map_cell(row, column))
        return menu

    def _on_menu(self, row: int, column: int, where: QtCore.QPoint) -> None:
        if self.result is not None:
            menu = self.cell_menu(row, column)
            menu.exec(where)
            menu.deleteLater()

    def copy(self) -> None:
        if self.result is not None:
            QtWidgets.QApplication.clipboard().setText("\n".join(self.result.lines()) + "\n")
            self.state.say("copied the disentanglement figures")
