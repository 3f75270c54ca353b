"""The compute thread: CPU work that is O(number of points) and must not stall the window.

Map builds (the projection, both KD-trees, the support meter), colourings, searches, vector
fitting and the sliders' orthogonalised basis run here, beside the model thread, so a long
PCA never delays a cursor decode. A newer request of a kind replaces a pending one (latest
wins); results carry the generation they were asked for, like the model thread's.
"""

from __future__ import annotations

from collections.abc import Callable, Generator

from explorer.core.state.compute import Work
from explorer.worker.lane import Lane, LaneWorker
from explorer.worker.requests import Result

# which kinds go first when several are pending: the map a user waits for before anything else
PRIORITY = {work: rank for rank, work in enumerate(Work)}  # Work lists its kinds in this order


def one_step(work: Callable[[], object]) -> Callable[[], Generator]:
    """A plain function as a lane task of a single step."""

    def start():
        return work()
        yield

    return start


class ComputeWorker(LaneWorker):
    def __init__(self, on_result: Callable[[Result], None]):
        self._lane = Lane("vae-explorer-compute", on_result)

    def submit(self, kind: Work, work: Callable[[], object], generation: int, replaces: bool = True) -> int:
        """Run work() here; answers Finished(kind, its value) or Failed. With `replaces`, it takes
        the place of a pending request of the same kind (latest wins); else it queues."""
        return self._lane.submit(kind, one_step(work), generation, priority=PRIORITY[kind], replaces=replaces)
