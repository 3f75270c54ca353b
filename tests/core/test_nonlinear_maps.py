"""Issue 13: UMAP and t-SNE maps with a fast inverse: exact at the data, interpolated between;
fitted a step at a time with progress, stopped by a cancel, kept in the cache when finished."""

from __future__ import annotations

import contextlib
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from explorer.core.maps import fits as FITS
from explorer.core.maps import nonlinear as NL
from explorer.core.state.compute import Work, run_inline
from explorer.core.steps import Progress, run_steps


@pytest.fixture(scope="module")
def blobs():
    """300 latents in 3 clusters of 8 dimensions."""
    rng = np.random.default_rng(0)
    centres = rng.normal(0, 4, (3, 8))
    return (centres[rng.integers(0, 3, 300)] + rng.normal(0, 0.5, (300, 8))).astype(np.float32)


def test_interpolation_is_exact_at_the_data_and_between_its_neighbours(blobs):
    coords = blobs[:, :2].astype(np.float64) * 3 + 1  # any positions will do for the inverse's maths
    p = NL.EmbeddedProjection("test", blobs, coords)
    np.testing.assert_array_equal(p.inverse(coords[17]), blobs[17].astype(np.float64))  # exact, one point
    np.testing.assert_array_equal(p.inverse(coords[:50]), blobs[:50].astype(np.float64))  # exact, many
    np.testing.assert_array_equal(p.transform(blobs[:50]), coords[:50])
    between = p.inverse((coords[3] + coords[4]) / 2)
    assert np.all(between >= np.minimum(blobs.min(0), 0) - 1e-9) and between.shape == (8,)
    assert p.remoteness(coords[5]) == 0 and p.remoteness(coords[5] + 100 * p.spacing) > 50
    assert p.project_covariance(np.ones(8)) is None


@pytest.mark.parametrize("method", ["umap", "tsne"])
def test_a_real_fit_maps_the_clusters_apart_and_its_inverse_is_exact_at_each_point(blobs, method, isolated_cache):
    pytest.importorskip("umap" if method == "umap" else "openTSNE")  # both are in the test extra
    p = FITS.embedded(method, blobs, seed=0)
    assert p.coords.shape == (300, 2) and np.isfinite(p.coords).all()
    assert p.name == NL.METHODS[method] and p.axis_labels == (f"{p.name} 1", f"{p.name} 2")
    np.testing.assert_array_equal(p.inverse(p.coords), blobs.astype(np.float64))
    np.testing.assert_array_equal(p.transform(blobs), p.coords)


@pytest.mark.parametrize(("method", "package"), [("umap", "umap"), ("tsne", "openTSNE")])
def test_without_the_extra_the_message_says_how_to_install_it(blobs, monkeypatch, method, package):
    monkeypatch.setitem(sys.modules, package, None)
    with pytest.raises(NL.MissingExtra, match=rf'pip install "vae-explorer\[{method}\]"'):
        FITS.fit(method, blobs)


def _fake_fit_steps(fits):
    """A stand-in for fit_steps that records what it fits; its map: mu's first two columns."""

    def fit_steps(method, mu, seed=0):
        fits.append(method)
        yield Progress(1, 1, "fitting")
        return np.asarray(mu[:, :2], np.float64)

    return fit_steps


def test_a_fitted_map_is_kept_in_the_cache_for_the_same_latents(blobs, isolated_cache, monkeypatch):
    fits = []
    monkeypatch.setattr(FITS, "fit_steps", _fake_fit_steps(fits))
    first = FITS.embedded("umap", blobs)
    again = FITS.embedded("umap", blobs)
    assert fits == ["umap"] and np.array_equal(first.coords, again.coords)  # the second came from the cache
    assert list(FITS.fitted_steps("umap", blobs)) == []  # from the cache: no step at all
    FITS.embedded("tsne", blobs)
    FITS.embedded("umap", blobs[:-1])  # other latents: fitted afresh
    FITS.embedded("umap", blobs, seed=1)  # another seed: fitted afresh
    assert fits == ["umap", "tsne", "umap", "umap"]
    assert FITS.cache_file("umap", blobs).exists() and len(list(isolated_cache.rglob("*.npy"))) == 4


def _plain_fit(method, mu, seed):
    """The fit as the library gives it, without progress: what fit_steps must give too."""
    if method == "umap":
        import umap

        return umap.UMAP(n_components=2, random_state=seed, n_jobs=1).fit_transform(mu)
    from openTSNE import TSNE

    return np.asarray(TSNE(random_state=seed, n_jobs=1).fit(mu))


@pytest.mark.parametrize(
    ("method", "package", "phases", "total"),
    [
        ("umap", "umap", ["fitting UMAP: neighbours", "fitting UMAP: layout"], 500),  # 500 epochs up to 10,000 points
        (
            "tsne",
            "openTSNE",
            ["fitting t-SNE: neighbours", "fitting t-SNE: early exaggeration", "fitting t-SNE: layout"],
            750,  # 250 iterations of early exaggeration, 500 more
        ),
    ],
)
def test_a_fit_reports_rising_progress_and_gives_the_plain_fits_coordinates(blobs, method, package, phases, total):
    pytest.importorskip(package)  # both are in the test extra
    seen = []
    coords = run_steps(FITS.fit_steps(method, blobs, seed=3), seen.append)
    np.testing.assert_array_equal(coords, _plain_fit(method, blobs, 3))  # the same seed, the same map, bit for bit
    assert list(dict.fromkeys(p.what for p in seen)) == phases  # the phases in order
    counted = [p for p in seen if p.total]
    assert all(p.total == total for p in counted) and counted[-1].done == total  # ends at the total
    done = [p.done for p in counted]
    assert done == sorted(done) and len(set(done)) == len(done)  # rises, never repeats
    assert len(counted) >= 20  # steps along the way, not one at the end


@pytest.mark.parametrize(("method", "package"), [("umap", "umap"), ("tsne", "openTSNE")])
def test_a_fit_closed_midway_stops_at_once_caches_nothing_and_the_next_fit_runs(
    blobs, method, package, isolated_cache, monkeypatch
):
    pytest.importorskip(package)
    from tqdm.auto import tqdm

    reported, report = [], FITS.Reports.__call__

    def held(self, done, total, what):  # the library's loop waits a third of the way, until the cancel
        reported.append(done)
        report(self, done, total, what)
        if total and done >= total // 3 and len([d for d in reported if d >= total // 3]) == 1:
            self.stopping.wait(10)

    monkeypatch.setattr(FITS.Reports, "__call__", held)
    steps = FITS.steps_here(method, blobs)  # in this process, where the library's loop can be held
    progress = next(p for p in steps if p.total and p.done >= p.total // 3)
    steps.close()  # a cancel, a third of the way through
    monkeypatch.setattr(FITS.Reports, "__call__", report)
    assert progress.done < progress.total
    assert 0 < reported[-1] - progress.done <= FITS.TSNE_REPORT_EVERY  # the next report stopped it
    assert not [t.name for t in threading.enumerate() if t.name.startswith("vae-explorer-fit")]  # it ended
    assert not list(isolated_cache.rglob("*.npy"))  # nothing half-done was kept
    free = []
    probe = threading.Thread(target=lambda: free.extend(_try_lock(lock) for lock in tqdm.get_lock().locks))
    probe.start()
    probe.join()
    assert free == [True] * len(tqdm.get_lock().locks)  # a UMAP stopped in a tqdm write left tqdm's lock free
    coords = FITS.fitted(method, blobs)  # the next fit runs to its end, and is kept
    np.testing.assert_array_equal(coords, _plain_fit(method, blobs, 0))
    assert [p.name for p in isolated_cache.rglob("*.npy")] == [FITS.cache_file(method, blobs).name]


def _fit_processes() -> list[str]:
    """The command lines of fit processes running now (Linux's /proc)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        with contextlib.suppress(OSError):
            if b"explorer.core.maps.fit_process" in cmdline.read_bytes():
                found.append(cmdline.parent.name)
    return found


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="finds processes through /proc")
@pytest.mark.parametrize(("method", "package"), [("umap", "umap"), ("tsne", "openTSNE")])
def test_a_fit_runs_in_a_process_of_its_own_that_a_cancel_ends_even_in_its_neighbour_search(
    blobs, method, package, isolated_cache
):
    """The window's fits run in a process (umap's numba loops hold the GIL: on a thread they
    stall the window), which a cancel ends at once, however far the fit is."""
    pytest.importorskip(package)
    steps = FITS.fitted_steps(method, blobs)
    first = next(p for p in steps if p is not None)
    assert first.done == 0 and "neighbours" in first.what  # the phase no report interrupts
    assert len(_fit_processes()) == 1
    steps.close()  # a cancel there
    assert _fit_processes() == []  # ended, not left to finish
    assert not list(isolated_cache.rglob("*.npy"))
    assert not [t.name for t in threading.enumerate() if t.name.startswith("vae-explorer-fit")]


def test_a_fit_that_fails_in_its_process_says_why(blobs):
    pytest.importorskip("umap")
    bad = np.array(blobs, np.float32)
    bad[3, 2] = np.nan
    with pytest.raises(FITS.FitError, match=r"the UMAP map could not be fitted: .*NaN"):
        run_steps(FITS.fit_steps("umap", bad))
    assert _fit_processes() == []


def _try_lock(lock) -> bool:
    """Whether `lock` can be taken at once (then given back) by the calling thread."""
    taken = lock.acquire(False)
    if taken:
        lock.release()
    return taken


def test_closing_hooked_steps_stops_the_library_loop_at_its_next_report():
    reached = []

    def run(report):
        for i in range(1, 101):
            report(i, 100, "looping")
            reached.append(i)
            if i == 10:
                report.stopping.wait(10)  # held here until the steps are closed
        return "finished"

    steps = FITS.hooked_steps(run, "vae-explorer-fit-test")
    assert next(p.done for p in steps if p.done == 10) == 10
    steps.close()
    assert reached == list(range(1, 11))  # report 11 raised inside the loop: it ended there
    assert "vae-explorer-fit-test" not in [t.name for t in threading.enumerate()]


def test_a_library_error_in_a_fit_is_raised_on_the_callers_thread():
    def run(report):
        report(1, 2, "half way")
        raise RuntimeError("the library broke")

    steps = FITS.hooked_steps(run, "vae-explorer-fit-test")
    seen = []
    with pytest.raises(RuntimeError, match="the library broke"):
        run_steps(steps, seen.append)
    assert seen == [Progress(1, 2, "half way")]


def test_the_newest_map_asked_is_shown_whichever_thread_answers_last(make_state, monkeypatch, isolated_cache):
    monkeypatch.setattr(FITS, "fit_steps", _fake_fit_steps([]))
    s = make_state(n=60, d=4)
    asked = []
    s.run = lambda work, compute, done: asked.append((work, compute, done))
    s.set_nonlinear("umap")  # a fit (the fit thread in the window) ...
    s.set_raw_dims(2, 3)  # ... then another map (the compute thread)
    (fit_kind, fit, show_fit), (map_kind, build, show_map) = asked
    assert (fit_kind, map_kind) == (Work.FIT, Work.MAP)
    show_map(build())
    show_fit(run_steps(fit()))  # the fit's answer comes last, but it was asked first
    assert s.projection_source == ("raw", 2, 3)
    s.run = run_inline
    s.set_nonlinear("umap")  # headless, a fit's steps run at once
    assert s.projection_source == ("umap",) and s.projection.name == "UMAP"
    np.testing.assert_array_equal(s.coords, np.asarray(s.encodings.mu[:, :2], np.float64))
