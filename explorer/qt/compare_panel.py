"""The comparison panel: what models A and B make of the cursor, side by side, how B's latent
is found, and both models' figures in one table (explorer/qt/comparison.py does the work)."""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from explorer.core.space import model_pair as P
from explorer.core.state.explorer_state import ExplorerState
from explorer.qt.comparison import Comparison
from explorer.qt.image_view import ImageView

HINT = "File > Compare With Model… opens a second model on this dataset."


class ComparePanel(QtWidgets.QWidget):
    close_requested = QtCore.Signal()

    def __init__(self, state: ExplorerState, comparison: Comparison, parent=None):
        super().__init__(parent)
        self.state, self.comparison = state, comparison
        layout = QtWidgets.QVBoxLayout(self)
        self.models = QtWidgets.QLabel(HINT)
        self.models.setWordWrap(True)
        self.models.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.models)

        row = QtWidgets.QHBoxLayout()
        row.addWidget(QtWidgets.QLabel("B decodes:"))
        self.mode = QtWidgets.QComboBox()
        for mode, text in P.LINKS.items():
            self.mode.addItem(text, mode)
        self.mode.setToolTip(
            "matched through the data: A's latent mapped into B's space by a linear fit over both models' "
            "encodings of this data; the same latent: B decodes A's very latent (latents of one size)"
        )
        row.addWidget(self.mode, stretch=1)
        self.close_button = QtWidgets.QPushButton("Close")
        self.close_button.setToolTip("end the comparison")
        row.addWidget(self.close_button)
        layout.addLayout(row)
        self.link_text = QtWidgets.QLabel()
        self.link_text.setWordWrap(True)
        layout.addWidget(self.link_text)

        pair = QtWidgets.QHBoxLayout()
        self.image_a = ImageView(min_size=96, caption="A", preferred=160)
        self.image_b = ImageView(min_size=96, caption="B", preferred=160)
        self.image_a.setObjectName("compareA")
        self.image_b.setObjectName("compareB")
        pair.addWidget(self.image_a)
        pair.addWidget(self.image_b)
        layout.addLayout(pair, stretch=2)

        self.table = QtWidgets.QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(["figure", "A", "B"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(0, QtWidgets.QHeaderView.ResizeMode.Stretch)
        layout.addWidget(self.table, stretch=3)

        self.mode.currentIndexChanged.connect(lambda _: comparison.set_mode(self.mode.currentData()))
        self.close_button.clicked.connect(self.close_requested)
        comparison.changed.connect(self._show)
        comparison.decoded.connect(self.image_b.set_image)
        comparison.progress.connect(self._show_progress)
        state.decoded_changed.connect(self._on_decoded)
        self._show()

    def _show(self) -> None:
        c, s = self.comparison, self.state
        if not c.active:
            self.models.setText(HINT)
            self.link_text.setText("")
            self.table.setRowCount(0)
            for view in (self.image_a, self.image_b):
                view.set_image(None)
            self.setEnabled(False)
            return
        self.setEnabled(True)
        a = s.model_info.command_line() if s.model_info is not None else "?"
        self.models.setText(f"A: {a}\nB: {c.model_name or c.spec}")
        same = self.mode.model().item(self.mode.findData(P.SAME))
        same.setEnabled(not c.latent_dim or c.latent_dim == s.latent_dim)
        self.mode.blockSignals(True)
        self.mode.setCurrentIndex(self.mode.findData(c.mode))
        self.mode.blockSignals(False)
        link = c.link
        self.link_text.setText(link.describe() if link is not None else "B is encoding the data …")
        rows = [] if c.result is None else P.figure_rows(c.result.figures_a, c.result.figures_b)
        self.table.setRowCount(len(rows))
        for i, row in enumerate(rows):
            for j, text in enumerate(row):
                item = QtWidgets.QTableWidgetItem(text)
                if j:
                    item.setTextAlignment(QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(i, j, item)
        self.table.resizeColumnsToContents()

    def _show_progress(self, text: str) -> None:
        if text:
            self.link_text.setText(text)
        else:
            self._show()

    def _on_decoded(self, slot: str, decoded) -> None:
        if slot == "cursor" and self.comparison.active:
            self.image_a.set_image(decoded.images[0])
