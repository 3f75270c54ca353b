"""The compute thread: CPU work that is O(number of points) and must not stall the window.
And the fit thread: UMAP and t-SNE fits, which take seconds to minutes.

Map builds (the projection, both KD-trees, the support meter), colourings, searches, vector
fitting and the sliders' orthogonalised basis run on the compute thread, beside the model
thread, so a long PCA never delays a cursor decode. A newer request of a kind replaces a
pending one (latest wins); results carry the generation they were asked for, like the model
thread's. A fit runs on a thread of its own, so that none of that waits for it: the map shown
stays usable meanwhile.
"""

from __future__ import annotations

from collections.abc import Callable, Generator

from explorer.core.state.compute import Work
from explorer.worker.lane import EVERY_GENERATION, Lane, LaneWorker
from explorer.worker.requests import Result

COMPUTE_NICE = 10  # below the model thread: a map build waits for a cursor decode, not the reverse
FIT_NICE = 15  # below the compute thread: a fit of minutes gives way to every other piece of work

# which kinds go first when several are pending: the map a user waits for before anything else
PRIORITY = {work: rank for rank, work in enumerate(Work)}  # Work lists its kinds in this order


def one_step(work: Callable[[], object]) -> Callable[[], Generator]:
    """A plain function as a lane task of a single step."""

    def start():
        return work()
        yield

    return start


def _warm_up() -> None:
    """Import what the fits use while the window is still starting. scikit-learn's metrics take
    about 0.7 s to import, much of it holding the GIL: as part of the first map build, that
    stalled the window."""
    import sklearn.linear_model
    import sklearn.metrics  # noqa: F401


class ComputeWorker(LaneWorker):
    def __init__(self, on_result: Callable[[Result], None]):
        self._lane = Lane("vae-explorer-compute", on_result, nice=COMPUTE_NICE)
        self._lane.submit(
            Work.WARM_UP,
            one_step(_warm_up),
            EVERY_GENERATION,
            priority=PRIORITY[Work.WARM_UP],
            replaces=True,
            finish=lambda task, value: None,  # answers nothing
        )

    def submit(self, kind: Work, work: Callable[[], object], generation: int, replaces: bool = True) -> int:
        """Run work() here; answers Finished(kind, its value) or Failed. With `replaces`, it takes
        the place of a pending request of the same kind (latest wins); else it queues."""
        return self.submit_steps(kind, one_step(work), generation, replaces)

    def submit_steps(self, kind: Work, start: Callable[[], Generator], generation: int, replaces: bool = True) -> int:
        """As submit, for work done a step at a time: start() gives a generator whose value is
        the answer. Between two steps more urgent work runs, and a close or cancel stops it."""
        return self._lane.submit(kind, start, generation, priority=PRIORITY[kind], replaces=replaces)


class FitWorker(LaneWorker):
    """The fit thread: one Work.FIT at a time, a step at a time (each step reports Progress). A
    newer fit replaces the one pending or running, and a cancel stops it: it is closed at its
    next step, and answers nothing more (a task that replaces others is dropped silently)."""

    def __init__(self, on_result: Callable[[Result], None]):
        self._lane = Lane("vae-explorer-fit", on_result, nice=FIT_NICE)

    def submit_steps(self, kind: Work, start: Callable[[], Generator], generation: int, replaces: bool = True) -> int:
        if kind is not Work.FIT:
            raise ValueError(f"the fit thread runs fits, not {kind}")
        return self._lane.submit(kind, start, generation, priority=0, replaces=replaces)

    def cancel(self, request_id: int) -> None:
        self._lane.cancel(request_id)
