"""A UMAP or t-SNE fit in a process of its own: what fits.fit_steps starts.

umap-learn's numba loops hold the GIL for as long as each runs (an epoch: up to 0.2 s at 20,000
points here, seconds at a million), so a fit on a thread of the window's process stalls the
window; and neither library can be stopped in its neighbour search. A process of its own holds
no lock of the window's, and a cancel ends it at once.

    python -m explorer.core.maps.fit_process METHOD SEED MU.npy OUT.npy

prints one line per report, "progress DONE TOTAL WHAT", writes the (N, 2) positions to OUT.npy
and exits 0; on failure it prints "error MESSAGE" and exits 1.
"""

from __future__ import annotations

import sys

import numpy as np

from explorer.core.maps.fits import steps_here


def main(argv: list[str]) -> int:
    method, seed, mu_path, out_path = argv
    try:
        steps = steps_here(method, np.load(mu_path, mmap_mode="r"), int(seed))
        while True:
            try:
                progress = next(steps)
            except StopIteration as done:
                np.save(out_path, np.asarray(done.value, np.float64))
                return 0
            print(f"progress {progress.done} {progress.total} {progress.what}", flush=True)
    except Exception as e:  # the parent says it in the window, naming the fit
        message = " ".join(str(e).split()) or type(e).__name__
        print(f"error {message}", flush=True)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
