"""The explorer window: the map in the middle, panels in docks, menus and a status bar."""

from __future__ import annotations

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from explorer.core.data import DatasetLike
from explorer.core.state.explorer_state import ExplorerState
from explorer.qt.attribute_panel import AttributePanel
from explorer.qt.compare_panel import ComparePanel
from explorer.qt.comparison import Comparison
from explorer.qt.controller import Controller
from explorer.qt.dialogs import warn
from explorer.qt.disentangle_panel import DisentanglePanel
from explorer.qt.fit_scroll import FitScrollArea
from explorer.qt.health_panel import HealthPanel
from explorer.qt.latent_map import LatentMap
from explorer.qt.map_controls import MapControls
from explorer.qt.open_files import MODEL_FILTERS, FileOpener, dropped_paths
from explorer.qt.panels import ActiveUnits, DecoderPanel, PosteriorPanel
from explorer.qt.report_export import ReportExporter
from explorer.qt.sessions import SessionKeeper
from explorer.qt.strip_panel import RECORD_TIP, StripPanel
from explorer.qt.trust_dialog import TrustGate
from explorer_models import LatentModel
from explorer_models.loading import builtin_specs
from explorer_models.sources import ModelSource

SETTINGS_ORG = "vae-explorer"
PREFERRED_SIZE = (1500, 920)  # the window's first size, where the screen has room for it


def default_settings() -> QtCore.QSettings:
    return QtCore.QSettings(SETTINGS_ORG, "vae-explorer")


class MainWindow(QtWidgets.QMainWindow):
    closed = QtCore.Signal()  # after the worker has stopped

    def __init__(
        self,
        model_spec: str | ModelSource | LatentModel,
        data_spec: str | DatasetLike,
        device: str = "auto",
        settings: QtCore.QSettings | None = None,
        session: str | None = None,
        parent=None,
        labels: str | None = None,
    ):
        super().__init__(parent)
        self.setWindowTitle("vae-explorer")
        self.settings = settings if settings is not None else default_settings()
        self.state = ExplorerState()
        self.controller = Controller(self.state, device=device, parent=self)

        self.map = LatentMap(self.state)
        self.controls = MapControls(self.state, self.map)
        self.addToolBar(QtCore.Qt.ToolBarArea.TopToolBarArea, self.controls)
        self.setCentralWidget(self.map)

        self.decoder_panel = DecoderPanel(self.state)
        self.posterior_panel = PosteriorPanel(self.state, self.controller.n_samples)
        self.active_units = ActiveUnits(self.state)
        self.attribute_panel = AttributePanel(self.state, self.controller)
        self.attribute_panel.selection_mode_requested.connect(self.map.set_selection_mode)
        self.strip_panel = StripPanel(self.state, self.controller)
        self.health_panel = HealthPanel(self.state, self.controller)
        self.health_panel.dimension_chosen.connect(self.show_traversal)
        self.disentangle_panel = DisentanglePanel(self.state)
        self.disentangle_panel.dimension_chosen.connect(self.show_traversal)
        self.comparison = Comparison(self.state, device=device, parent=self)
        self.compare_panel = ComparePanel(self.state, self.comparison)
        self.docks: dict[str, QtWidgets.QDockWidget] = {}
        right, bottom = QtCore.Qt.DockWidgetArea.RightDockWidgetArea, QtCore.Qt.DockWidgetArea.BottomDockWidgetArea
        # panels of text and images scroll when the screen is too small for them, rather than
        # squeeze their contents on top of each other
        for title, widget, area, scrolled in (
            ("Decoder", self.decoder_panel, right, True),
            ("Attributes", self.attribute_panel, right, False),
            ("Posterior", self.posterior_panel, right, True),
            ("Active units", self.active_units, right, False),
            ("Health", self.health_panel, right, True),
            ("Disentanglement", self.disentangle_panel, right, True),
            ("Compare", self.compare_panel, right, True),
            ("Strip", self.strip_panel, bottom, True),
        ):
            self._add_dock(title, widget, area, scrolled)
        # the map keeps the full height; attribute sliders and the VAE's own view share a
        # tabbed dock under the decoder
        self.tabifyDockWidget(self.docks["Attributes"], self.docks["Posterior"])
        self.tabifyDockWidget(self.docks["Posterior"], self.docks["Active units"])
        self.tabifyDockWidget(self.docks["Active units"], self.docks["Health"])
        self.tabifyDockWidget(self.docks["Health"], self.docks["Disentanglement"])
        self.tabifyDockWidget(self.docks["Disentanglement"], self.docks["Compare"])
        self.docks["Compare"].hide()  # until File > Compare With Model…
        self.docks["Attributes"].raise_()
        # strips are wide: under the map, with the right-hand docks keeping the full height
        self.setCorner(QtCore.Qt.Corner.BottomRightCorner, right)

        self.sessions = SessionKeeper(self.state, self.controller, self)
        self.opener = FileOpener(self, self.state, self.controller, self.sessions, self.settings)
        self.trust = TrustGate(self.controller, self.settings, self)
        self.report_exporter = ReportExporter(self, self.state, self.controller)
        self.comparison.changed.connect(self._show_comparison)
        self.comparison.failed.connect(lambda message: warn(self, "Could not compare the models.", message))
        self.comparison.progress.connect(lambda text: text and self.state.say(text))
        self.compare_panel.close_requested.connect(self.comparison.close)
        # files dropped anywhere on the window reach the window's dropEvent: the map, a graphics
        # view, would otherwise take them for its scene and drop them there
        self.setAcceptDrops(True)
        self.map.setAcceptDrops(False)
        self.map.viewport().setAcceptDrops(False)
        self._build_status_bar()
        self._build_menus()
        self.posterior_panel.sample_prior_requested.connect(self.controller.sample_prior)
        self.controller.progress.connect(self._on_progress)
        # a fit cancelled or failed leaves the map shown: the map bar shows which it is again
        # (MapControls resyncs itself only when a new map comes)
        self.controller.fit_stopped.connect(self.controls.sync_projection)
        self.controller.failed.connect(self._on_failed)
        self.state.status_changed.connect(lambda text: self.statusBar().showMessage(text, 8000))
        self.state.model_changed.connect(lambda: self.device_label.setText(self.state.device_name))
        self.state.data_changed.connect(self._on_data)
        self.state.cursor_changed.connect(self._on_cursor)
        self.state.focus_changed.connect(self._show_focus_terms)
        self._restore_settings()
        if session is None or not self.sessions.open(session):
            self.controller.open(model_spec, data_spec, labels)

    # -- construction ----------------------------------------------------------------------
    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.progress = QtWidgets.QProgressBar()
        self.progress.setFixedWidth(280)
        self.cancel_button = QtWidgets.QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.controller.cancel)
        self.cancel_button.clicked.connect(self.report_exporter.cancel)
        self.cursor_label = QtWidgets.QLabel()
        self.data_label = QtWidgets.QLabel()
        self.device_label = QtWidgets.QLabel("starting …")
        for w in (self.progress, self.cancel_button):
            bar.addPermanentWidget(w)
            w.hide()
        for w in (self.cursor_label, self.data_label, self.device_label):
            bar.addPermanentWidget(w)

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        opener = self.opener
        self._action(file_menu, "Open &Model…", QtGui.QKeySequence.StandardKey.Open, opener.ask_model)
        self._action(file_menu, "Open Model &Folder…", None, opener.ask_model_folder)
        self._action(file_menu, "Open &Dataset Folder…", "Ctrl+Shift+O", opener.ask_dataset_folder)
        self._action(file_menu, "Open Dataset Fil&e…", None, opener.ask_dataset_file)
        self._action(file_menu, "Open Sess&ion…", "Ctrl+Alt+O", self.sessions.ask_open)
        self._action(file_menu, "&Compare With Model…", None, self.ask_compare)
        file_menu.addMenu(opener.recent_menu)
        self._action(file_menu, "Save Sessio&n…", QtGui.QKeySequence.StandardKey.Save, self.sessions.ask_save)
        file_menu.addSeparator()
        self._action(file_menu, "&Export Figure…", "Ctrl+E", self.strip_panel.ask_export)
        self._action(file_menu, "Export Se&lection…", "Ctrl+Shift+E", self.sessions.ask_export_selection)
        self._action(file_menu, "Export Model &Report…", None, self.report_exporter.ask)
        file_menu.addSeparator()
        self._action(file_menu, "&Save Vectors…", "Ctrl+Shift+S", self.attribute_panel._ask_save)
        self._action(file_menu, "&Load Vectors…", "Ctrl+Shift+L", self.attribute_panel._ask_load)
        file_menu.addSeparator()
        self._action(file_menu, "&Quit", QtGui.QKeySequence.StandardKey.Quit, self.close)
        view = self.menuBar().addMenu("&View")
        self._action(view, "Sample from the &Prior", "Ctrl+P", self.controller.sample_prior)
        self._action(view, "&Reset Zoom", "Ctrl+0", self.map.plotItem.enableAutoRange)
        self._action(view, "&Unpin", "Esc", lambda: self.state.pin(None))
        record = self._action(view, "Record a &Walk", "Ctrl+R", self.strip_panel.record.toggle)
        record.setToolTip(RECORD_TIP)
        view.addSeparator()
        for dock in self.docks.values():
            view.addAction(dock.toggleViewAction())

    def _add_dock(self, title: str, widget: QtWidgets.QWidget, area, scrolled: bool) -> None:
        dock = QtWidgets.QDockWidget(title, self)
        dock.setObjectName(f"dock {title}")  # saveState needs names
        if scrolled:
            widget = FitScrollArea(widget)
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        self.docks[title] = dock

    def _size_docks(self) -> None:
        """Dock sizes in proportion to the window, so a small screen keeps room for the map."""
        w, h = self.width(), self.height()
        vertical, horizontal = QtCore.Qt.Orientation.Vertical, QtCore.Qt.Orientation.Horizontal
        self.resizeDocks([self.docks["Decoder"]], [int(np.clip(0.3 * w, 330, 440))], horizontal)
        self.resizeDocks([self.docks["Decoder"], self.docks["Attributes"]], [int(0.62 * h), int(0.38 * h)], vertical)
        self.resizeDocks([self.docks["Strip"]], [int(np.clip(0.3 * h, 240, 300))], vertical)

    def _action(self, menu, text, shortcut, slot) -> QtGui.QAction:
        action = QtGui.QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QtGui.QKeySequence(shortcut))
        action.triggered.connect(slot)
        menu.addAction(action)
        return action

    # -- reactions -------------------------------------------------------------------------
    def _on_progress(self, done: int, total: int, what: str) -> None:
        busy = bool(what)
        self.progress.setVisible(busy)
        self.cancel_button.setVisible(busy)
        count = f" {done:,} / {total:,}" if total else ""
        first = " (the first time only)" if what == "rendering faces" else ""
        self.map.show_busy(f"{what}{count} …{first}" if busy else "")
        if busy:
            self.progress.setRange(0, total)  # (0, 0): a busy bar, before the count is known
            self.progress.setValue(done)
            self.progress.setFormat(f"{what}{count}")

    def _on_failed(self, what: str, message: str) -> None:
        if what in ("model", "dataset", "encode"):
            warn(self, f"Could not open the {what if what != 'encode' else 'dataset'}.", message)

    def _on_data(self) -> None:
        ds, info = self.state.dataset, self.state.model_info
        self.data_label.setText("" if ds is None else f"{ds.spec}: {len(ds):,} points")
        if ds is not None and info is not None:
            self.setWindowTitle(f"vae-explorer — {info.source} on {ds.spec}")

    def _on_cursor(self, cursor) -> None:
        if cursor is not None:
            z = ", ".join(f"{v:+.2f}" for v in cursor.latent[:4])
            self.cursor_label.setText(f"z = [{z}{', …' if len(cursor.latent) > 4 else ''}]")

    def ask_compare(self) -> None:
        """Model B: a built-in one, typed, or a file chosen (File > Compare With Model…)."""
        choose = "Choose a file…"
        items = [*(s for s in builtin_specs() if s != self.comparison.spec), choose]
        spec, ok = QtWidgets.QInputDialog.getItem(
            self, "Compare with a model", "Model B, decoded beside this one on the same data:", items, 0, True
        )
        if ok and spec == choose:
            spec, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Model B", "", MODEL_FILTERS)
        if ok and spec.strip():
            self.comparison.open(spec.strip())

    def _show_comparison(self) -> None:
        dock = self.docks["Compare"]
        if self.comparison.active and not dock.isVisible():
            dock.show()
            dock.raise_()

    def show_traversal(self, dim: int) -> None:
        """The strip dock's traversal tab, showing latent dimension `dim` alone."""
        self.docks["Strip"].show()
        self.docks["Strip"].raise_()
        self.strip_panel.show_dimension(dim)

    def _show_focus_terms(self, *_) -> None:
        if self.state.focus is not None and self.state.ready:
            self.posterior_panel.show_terms(self.state.focus)

    # -- drag and drop --------------------------------------------------------------------
    def dragEnterEvent(self, event: QtGui.QDragEnterEvent) -> None:
        if dropped_paths(event.mimeData()):  # any local file: one the explorer cannot open is answered on drop
            event.acceptProposedAction()

    def dragMoveEvent(self, event: QtGui.QDragMoveEvent) -> None:
        if dropped_paths(event.mimeData()):
            event.acceptProposedAction()

    def dropEvent(self, event: QtGui.QDropEvent) -> None:
        paths = dropped_paths(event.mimeData())
        if paths:
            event.acceptProposedAction()
            self.opener.open_paths(paths)

    # -- lifetime --------------------------------------------------------------------------
    def _restore_settings(self) -> None:
        geometry = self.settings.value("window/geometry")
        if geometry is None or not self.restoreGeometry(geometry):
            self._fit_to_screen()
        self._size_docks()
        state = self.settings.value("window/state")
        if state is not None:
            self.restoreState(state)

    def _fit_to_screen(self) -> None:
        """The preferred size where the screen has room; else the whole screen (maximised, and
        sized to it too, for a screen with no window manager to maximise it)."""
        screen = self.screen() or QtGui.QGuiApplication.primaryScreen()
        room = screen.availableGeometry()
        if room.width() >= PREFERRED_SIZE[0] and room.height() >= PREFERRED_SIZE[1]:
            self.resize(*PREFERRED_SIZE)
            self.move(room.center() - self.rect().center())
        else:
            self.setGeometry(room)
            self.setWindowState(QtCore.Qt.WindowState.WindowMaximized)

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState())
        self.settings.sync()
        self.controller.stop()
        self.comparison.stop()
        super().closeEvent(event)
        self.closed.emit()
