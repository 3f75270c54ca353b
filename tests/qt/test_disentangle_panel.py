"""The disentanglement panel: the figures of disentanglement.measure on the state's encodings and
labels, measured on the compute thread once the panel is shown; a heat map whose cells are the
chosen matrix; a click asks for a traversal, Shift+click maps the documented raw dims; nothing of
old encodings shown for new ones; data without labels says so."""

import threading

import numpy as np
import pytest
from PySide6 import QtCore, QtTest, QtWidgets

from explorer.core.data import Dataset
from explorer.core.space import disentanglement as D
from explorer.core.state.compute import Work, run_inline
from explorer.core.store.encoding import Encodings
from explorer.qt.controller import Controller
from explorer.qt.disentangle_panel import MATRICES, NO_LABELS, WAITING, DisentanglePanel
from explorer.qt.fit_scroll import FitScrollArea

N = 300
LEFT, SHIFT = QtCore.Qt.MouseButton.LeftButton, QtCore.Qt.KeyboardModifier.ShiftModifier


def _data(seed: int = 0):
    """(labels (N, 2): a binary, b continuous; mu (N, 4)): dim 1 carries a, dim 3 carries b, dim 2 a
    little of both, dim 0 nothing."""
    rng = np.random.default_rng(seed)
    a, b = (rng.random(N) < 0.5).astype(np.float32), rng.random(N).astype(np.float32)
    mu = rng.normal(size=(N, 4)) * 0.3
    mu[:, 1] += 2 * a
    mu[:, 3] += 3 * b
    mu[:, 2] += 0.4 * a + 0.6 * b
    return np.stack([a, b], 1), mu.astype(np.float32)


def _encodings(mu: np.ndarray) -> Encodings:
    n = len(mu)
    return Encodings(mu, np.full_like(mu, -2.0), *(np.zeros(n, np.float32) for _ in range(3)))


def _switch_data(state, labels: np.ndarray, mu: np.ndarray, spec: str = "y") -> None:
    """Another dataset (a new generation) and its encodings, as the controller swaps them in."""
    names = tuple("abcdefgh"[: labels.shape[1]])
    state.set_dataset(Dataset(spec, np.zeros((len(mu), 2, 2, 3), np.uint8), labels, names, "fp-" + spec))
    state.set_encodings(_encodings(mu))


@pytest.fixture
def state(make_state):
    labels, mu = _data()
    s = make_state(n=N, d=4, labels=labels)
    s.set_encodings(_encodings(mu))  # the map of these encodings is built inline
    return s


@pytest.fixture
def threads(state):
    """The window's plumbing for the state's work: the compute thread, answers on the GUI thread,
    other generations' answers dropped."""
    controller = Controller(state, device="cpu")
    yield controller
    assert controller.stop()


class Deferred:
    """A runner that holds Work.DISENTANGLEMENT requests (to answer them later, in any order) and
    runs everything else inline."""

    def __init__(self):
        self.held: list[tuple] = []

    def __call__(self, work, compute, done) -> None:
        if work is Work.DISENTANGLEMENT:
            self.held.append((compute, done))
        else:
            run_inline(work, compute, done)

    def answer(self, i: int) -> None:
        compute, done = self.held[i]
        run_inline(Work.DISENTANGLEMENT, compute, done)


def _panel(state, qtbot, show: bool = True) -> DisentanglePanel:
    panel = DisentanglePanel(state)
    qtbot.addWidget(panel)
    panel.resize(480, 700)
    if show:
        panel.show()
        qtbot.waitExposed(panel)
        qtbot.waitUntil(lambda: panel.status.text() != WAITING)  # asked once painted
    return panel


def _measured(panel, threads, qtbot) -> D.Disentanglement:
    qtbot.waitUntil(lambda: panel.result is not None and threads.idle, timeout=60_000)
    return panel.result


def _expected(state) -> D.Disentanglement:
    ds = state.dataset
    return D.measure(state.encodings.mu, {name: ds.label(name) for name in ds.label_names}, seed=0)


def _same(a: D.Disentanglement, b: D.Disentanglement) -> None:
    assert (a.dims, a.factors, a.kinds, a.n_points, a.seed) == (b.dims, b.factors, b.kinds, b.n_points, b.seed)
    for name in (*MATRICES, "entropy"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    assert (a.mig, a.sap, a.dci_disentanglement, a.dci_completeness, a.dci_informativeness) == (
        b.mig,
        b.sap,
        b.dci_disentanglement,
        b.dci_completeness,
        b.dci_informativeness,
    )


def _click(panel, qtbot, row: int, column: int, modifiers=QtCore.Qt.KeyboardModifier.NoModifier) -> None:
    table = panel.table
    table.scrollTo(table.model().index(row, column))
    QtTest.QTest.mouseClick(table.viewport(), LEFT, modifiers, table.cell_rect(row, column).center())


def test_the_panel_shows_measure_of_the_encodings_measured_on_the_compute_thread(state, threads, qtbot, monkeypatch):
    measured_on, asked = [], []
    real_measure, real_run = D.measure_steps, state.run

    def spy(*args, **kwargs):
        measured_on.append(threading.current_thread())
        return (yield from real_measure(*args, **kwargs))

    def run(work, compute, done):
        asked.append(work)
        real_run(work, compute, done)

    monkeypatch.setattr(D, "measure_steps", spy)
    state.run = run
    panel = _panel(state, qtbot)
    assert panel.status.text().startswith("measuring …") and not panel.table.isVisible()
    result = _measured(panel, threads, qtbot)
    assert asked == [Work.DISENTANGLEMENT]
    assert len(measured_on) == 1 and measured_on[0] is not threading.main_thread()

    expected = _expected(state)
    _same(result, expected)
    assert result.best_dim("a") == 1 and result.best_dim("b") == 3  # the data's make-up, seen
    shown = {name: label.text() for name, label in panel.figures.items()}
    assert shown == {
        "MIG": f"{expected.mig:.3f}",
        "SAP": f"{expected.sap:.3f}",
        "DCI disentanglement": f"{expected.dci_disentanglement:.3f}",
        "DCI completeness": f"{expected.dci_completeness:.3f}",
        "DCI informativeness": f"{expected.dci_informativeness:.3f}",
    }
    assert not panel.status.isVisible() and panel.table.isVisible()
    assert panel.facts.text().startswith(f"{N:,} points; SAP, DCI fit on 225, scored on 75 (seed 0)")


@pytest.mark.parametrize("which", list(MATRICES))
def test_each_cell_holds_the_chosen_matrix_in_its_colour(state, qtbot, which):
    panel = _panel(state, qtbot)  # the inline runner: measured at once
    expected = _expected(state)
    panel.matrix.setCurrentIndex(list(MATRICES).index(which))
    assert panel.which == which
    table, values = panel.table, getattr(expected, which)
    assert (table.rowCount(), table.columnCount()) == (4, 2)
    assert [table.verticalHeaderItem(i).text() for i in range(4)] == ["z0", "z1", "z2", "z3"]
    assert [table.horizontalHeaderItem(j).text() for j in range(2)] == ["a", "b"]
    top = values.max() if which == "mutual_info" else 1.0
    colours = D.colour_scale(values / top)
    for i in range(4):
        for j in range(2):
            item = table.item(i, j)
            assert item.data(QtCore.Qt.ItemDataRole.UserRole) == values[i, j]
            assert item.text() == f"{values[i, j]:.2f}"
            assert item.background().color().getRgb()[:3] == tuple(int(c) for c in colours[i, j])
            assert f"z{i} × {'ab'[j]}: {MATRICES[which][0]} {values[i, j]:.3f}" in item.toolTip()
            assert item.font().bold() == (i == int(np.argmax(values[:, j])))  # each factor's top cell
    assert panel.scale_high.text() == f"{top:.2f}"


def test_a_click_on_a_cell_asks_for_the_traversal_of_its_dim(state, threads, qtbot):
    panel = _panel(state, qtbot)
    _measured(panel, threads, qtbot)
    for row, column in ((2, 1), (0, 0), (3, 0)):
        with qtbot.waitSignal(panel.dimension_chosen, timeout=1000) as chosen:
            _click(panel, qtbot, row, column)
        assert chosen.args == [row]
    assert state.projection_source == ("pca",)  # a plain click leaves the map as it is


def test_shift_click_maps_the_dim_against_the_factors_other_top_dim(state, threads, qtbot):
    panel = _panel(state, qtbot)
    result = _measured(panel, threads, qtbot)
    nmi = result.normalised_mi
    order_a = [int(u) for u in np.argsort(-nmi[:, 0], kind="stable")]
    assert order_a[0] == 1  # a lives in z1

    said = []
    state.status_changed.connect(said.append)

    def shift_click(row, column):
        with qtbot.assertNotEmitted(panel.dimension_chosen):
            _click(panel, qtbot, row, column, SHIFT)

    shift_click(1, 0)  # the top dim of a: against a's second
    qtbot.waitUntil(lambda: state.projection_source == ("raw", 1, order_a[1]) and threads.idle, timeout=30_000)
    shift_click(0, 0)  # any other dim: against a's top one
    qtbot.waitUntil(lambda: state.projection_source == ("raw", 0, 1) and threads.idle, timeout=30_000)
    assert np.array_equal(state.coords, state.encodings.mu[:, [0, 1]])

    # the ranking is the matrix shown's: with the SAP scores, b's top two
    panel.matrix.setCurrentIndex(list(MATRICES).index("sap_scores"))
    order_b = [int(u) for u in np.argsort(-result.sap_scores[:, 1], kind="stable")]
    shift_click(order_b[0], 1)
    qtbot.waitUntil(lambda: state.projection_source == ("raw", *order_b[:2]) and threads.idle, timeout=30_000)
    assert said[-1] == f"map: z{order_b[0]} against z{order_b[1]} (b's second dim by SAP scores)"

    # the context menu offers both gestures
    actions = panel.cell_menu(2, 1).actions()
    assert [a.text() for a in actions] == [
        "Traversal of z2",
        f"Map z2 against z{order_b[0]} (b's top dim by SAP scores)",
    ]
    actions[1].trigger()
    qtbot.waitUntil(lambda: state.projection_source == ("raw", 2, order_b[0]) and threads.idle, timeout=30_000)
    with qtbot.waitSignal(panel.dimension_chosen, timeout=1000) as chosen:
        actions[0].trigger()
    assert chosen.args == [2]


def test_it_measures_only_once_shown_and_once_per_encodings(state, qtbot):
    runner = state.run = Deferred()
    panel = _panel(state, qtbot, show=False)
    assert runner.held == []  # not on screen: nothing measured
    panel.show()
    qtbot.waitUntil(lambda: len(runner.held) == 1)
    assert panel.status.text().startswith("measuring …")
    for _ in range(2):
        panel.hide()
        panel.show()
        qtbot.waitExposed(panel)
        panel.repaint()
        QtCore.QCoreApplication.processEvents()
        assert len(runner.held) == 1  # asked already
        if panel.result is None:
            runner.answer(0)
            _same(panel.result, _expected(state))


def test_in_a_dock_tab_behind_another_it_waits_until_its_tab_is_raised(state, qtbot):
    runner = state.run = Deferred()
    window = QtWidgets.QMainWindow()
    qtbot.addWidget(window)
    panel = DisentanglePanel(state)
    docks = []
    for title, widget in (("Other", QtWidgets.QLabel("another panel")), ("Disentanglement", FitScrollArea(panel))):
        dock = QtWidgets.QDockWidget(title, window)
        dock.setWidget(widget)
        window.addDockWidget(QtCore.Qt.DockWidgetArea.RightDockWidgetArea, dock)
        docks.append(dock)
    window.tabifyDockWidget(*docks)
    docks[0].raise_()
    window.resize(900, 700)
    window.show()
    qtbot.waitExposed(window)
    window.repaint()
    QtCore.QCoreApplication.processEvents()
    assert panel.isVisible() and runner.held == []  # "visible" behind the other tab, but not on screen
    docks[1].raise_()
    qtbot.waitUntil(lambda: len(runner.held) == 1)
    assert panel.status.text().startswith("measuring …")
    runner.answer(0)
    _same(panel.result, _expected(state))


def test_an_answer_about_other_encodings_is_never_shown(state, qtbot):
    runner = state.run = Deferred()
    panel = _panel(state, qtbot)
    assert len(runner.held) == 1
    labels, mu = _data(seed=1)
    _switch_data(state, labels, mu)
    assert len(runner.held) == 2 and panel.status.text().startswith("measuring …")
    runner.answer(0)  # the old data's answer comes late
    assert panel.result is None and panel.status.text().startswith("measuring …")
    assert panel.table.rowCount() == 0
    runner.answer(1)
    _same(panel.result, _expected(state))
    assert np.array_equal(state.encodings.mu, mu)


def test_a_model_or_data_switch_clears_what_was_shown(state, threads, qtbot):
    panel = _panel(state, qtbot)
    old = _measured(panel, threads, qtbot)
    seen = []
    state.model_changed.connect(
        lambda: seen.append((panel.result, panel.table.rowCount(), panel.figures_box.isVisible()))
    )
    state.set_model(state.model_info, 4, "cpu")  # a new model: its encodings are still to come
    assert seen == [(None, 0, False)]
    assert panel.status.text() == WAITING
    # its data and encodings come in: measured anew, on the new encodings
    labels, mu = _data(seed=2)
    _switch_data(state, labels, mu, spec="z")
    new = _measured(panel, threads, qtbot)
    assert new is not old and np.array_equal(state.encodings.mu, mu)
    _same(new, _expected(state))


def test_data_without_labels_says_so(make_state, qtbot):
    s = make_state(n=N, d=4, labels=np.zeros((N, 0), np.float32))
    asked = []
    s.run = lambda work, compute, done: asked.append(work)
    panel = _panel(s, qtbot)
    assert panel.status.text() == NO_LABELS and panel.status.isVisible()
    assert panel.result is None and not panel.table.isVisible() and not panel.figures_box.isVisible()
    assert Work.DISENTANGLEMENT not in asked


def test_labels_it_cannot_measure_against_are_said_in_the_panel(make_state, qtbot):
    s = make_state(n=N, d=4, labels=np.ones((N, 2), np.float32))  # both constant
    panel = _panel(s, qtbot)  # the inline runner
    assert panel.status.text().startswith("No disentanglement figures: every factor is constant")
    assert panel.result is None and not panel.table.isVisible()


def test_a_measure_that_fails_says_why_in_the_panel(state, qtbot, monkeypatch):
    def broken(*args, **kwargs):
        raise ValueError("boom")
        yield  # a step function, as measure_steps

    monkeypatch.setattr(D, "measure_steps", broken)
    panel = _panel(state, qtbot)  # the inline runner
    assert panel.status.text() == "No disentanglement figures: ValueError: boom"
    assert panel.result is None and not panel.table.isVisible()
