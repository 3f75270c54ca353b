"""How the state gets O(number of points) work done without doing it in a setter.

The state never computes a map, a KD-tree, a colouring or a search itself: it hands the work
to its `run` function with what to do with the answer. Headless (scripts, the CLI, core tests)
`run_inline` answers at once. The window's controller installs a runner that sends the work to
the compute thread (a fit: to the fit thread) and calls `done` on the GUI thread when the
answer comes, if it is still the newest of its kind and of the state's generation; so the GUI
thread only swaps results in.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import TypeVar

from explorer.core.steps import run_steps

T = TypeVar("T")


class Work(enum.Enum):
    """Kinds of CPU work; a newer request of a kind replaces an older one (latest wins). Listed
    in the order the compute thread serves them: the map a user waits for first."""

    MAP = "building the map"
    POINTS = "grouping the points by colour"
    NEIGHBOURS = "finding neighbours"
    RASTER = "drawing the points"
    THUMBNAILS = "making thumbnails"
    COLOURING = "colouring the map"
    SEARCH = "searching"
    SLIDERS = "preparing the sliders"
    SELECTION = "selecting points"
    VECTORS = "fitting attribute vectors"
    PREVIEW = "laying out the strip"
    TRAVERSAL = "building the traversal"  # its latents: statistics and quantiles over every point
    TRAVERSAL_LAYOUT = "laying out the traversal"
    HEALTH = "measuring the latent space"  # active units, KL, I(x; z), q(z) against the prior, holes
    DISENTANGLEMENT = "measuring disentanglement"  # MIG, DCI, SAP against the data's labels
    WARM_UP = "loading the fitting libraries"  # the compute thread's own, at its start
    # A UMAP or t-SNE fit (seconds to minutes): on a thread of its own, so that no other work
    # waits for it; its compute() gives a generator of steps (STEPPED) that reports progress
    # and stops at a cancel.
    FIT = "fitting the map"


# kinds whose compute() returns a generator of steps (explorer.core.steps) instead of the answer
STEPPED = frozenset({Work.FIT, Work.DISENTANGLEMENT})
# A request of a key kind supersedes any unfinished one of its values: a map of any kind, asked
# for while a fit runs, replaces the fit, which is stopped.
SUPERSEDES = {Work.MAP: (Work.FIT,)}

Runner = Callable[[Work, Callable[[], T], Callable[[T], None]], None]


def run_inline(work: Work, compute: Callable[[], T], done: Callable[[T], None]) -> None:
    value = compute()
    done(run_steps(value) if work in STEPPED else value)
