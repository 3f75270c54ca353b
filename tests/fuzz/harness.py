"""Run fuzz cases (generators.py, formats.py) and classify what each one did (issues 11 and 12).

One worker process runs the cases one at a time, in-process (torch imported once), with its
address space capped (RLIMIT_AS), one torch thread, and its own cache and log folders. The
parent (pytest, or `python tests/fuzz/harness.py`) sends it a case number, gives the case
`Case.timeout` seconds, and kills and restarts the worker when it hangs or dies. The parent
uses no threads (a selector on the worker's pipe), so pytest's leak fixtures stay quiet.

Outcomes (each case has exactly one):
  clean      raised a UserInputError (the CLI: exit 1 or 2 with one `PROG: error: ...` line on
             stderr and no "Traceback") whose message names the input: its path, or the option
  vague      such an error, but the message names neither the input nor the option (or spans
             several lines)
  wrong-error  a clean error of another type than the case requires (Case.error: an untrusted
             pickle must raise TrustRequired, not fail in some other way first)
  accepted   no error at all (fine for a valid input; see Case.expect)
  unreported accepted, but an unreadable file it had to skip is not named in dataset.problems
             (the CLI: in a "warning: skipped" line)
  dropped    accepted, but a readable image was skipped as a problem
  traceback  any other exception (the CLI: one escaping main, or "Traceback" on stderr)
  crash      the worker died (a signal, an abort, the OOM killer), or the CLI exited non-zero
             without an error line
  hang       no answer within the case's timeout
Independently of the outcome, `damaged` lists what the case changed on disk that it must not:
a file in the case folder that changed or went away, a stray new file (a temp file; or any new
file when the case ended in an error), or a change to the shared inputs (the valid checkpoint,
the image folder); and a marker file that appears only if an untrusted input ran code
(Input.marker: an untrusted pickle that would create it).

Command line:  python tests/fuzz/harness.py [--cases N] [--seed S] [--only TEXT] [--results FILE]
"""

from __future__ import annotations

import argparse
import fnmatch
import hashlib
import importlib.util
import io
import json
import os
import selectors
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
import traceback
from collections import Counter
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import asdict, dataclass, field
from pathlib import Path


def _load_generators():
    name = "vae_explorer_fuzz_generators"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name("generators.py"))
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


G = _load_generators()

REPO = Path(__file__).resolve().parents[2]
MEMORY_LIMIT = int(os.environ.get("VAE_EXPLORER_FUZZ_MEMORY_MB", "4096")) * 2**20  # the worker's address space
STARTUP_TIMEOUT = 120.0
OUTCOMES = ("clean", "vague", "wrong-error", "accepted", "unreported", "dropped", "traceback", "crash", "hang")
ACCEPTED = ("accepted", "unreported", "dropped")  # the input was taken (with or without the right reports)
PROG = "vae-explorer"


@dataclass
class Result:
    id: str
    kind: str
    name: str
    entry: str
    expect: str
    issue: str
    outcome: str = "crash"
    error: str = ""  # exception type (or "exit N", "signal N", "timeout")
    message: str = ""  # its first line
    where: str = ""  # for a traceback: the innermost frame in the project
    seconds: float = 0.0
    peak_mb: float = 0.0  # the worker's peak resident memory once this case ended
    grew_mb: float = 0.0  # how much this case raised that peak
    damaged: list[str] = field(default_factory=list)

    @property
    def bad(self) -> bool:
        return self.outcome in ("traceback", "crash", "hang") or bool(self.damaged)

    def line(self) -> str:
        extra = f" at {self.where}" if self.where else ""
        dmg = f" DAMAGED: {'; '.join(self.damaged)}" if self.damaged else ""
        return f"{self.id}: {self.outcome} {self.error}: {self.message}{extra}{dmg}"


# -- files on disk ---------------------------------------------------------------------------------
def snapshot(folder: Path) -> dict[str, list]:
    """{relative path: [type, size, mtime_ns, sha256 of a regular file]} under `folder`, not
    following links, never opening anything but regular files (a FIFO would block)."""
    out: dict[str, list] = {}
    root = os.fsencode(folder)
    if not os.path.isdir(root):
        return out
    for dirpath, dirnames, filenames in os.walk(root, onerror=lambda e: None):
        for name in dirnames + filenames:
            full = os.path.join(dirpath, name)
            rel = os.fsdecode(os.path.relpath(full, root))
            try:
                st = os.lstat(full)
            except OSError:
                continue
            digest = ""
            if stat.S_ISREG(st.st_mode) and st.st_size <= 64 * 2**20:
                try:
                    with open(full, "rb") as f:
                        digest = hashlib.sha256(f.read()).hexdigest()
                except OSError:
                    digest = "unreadable"
            kind = "dir" if stat.S_ISDIR(st.st_mode) else "file" if stat.S_ISREG(st.st_mode) else "other"
            out[rel] = [kind, st.st_size if kind == "file" else 0, st.st_mtime_ns if kind == "file" else 0, digest]
    return out


def compare(before: dict, after: dict, allowed_new: set[str]) -> list[str]:
    """What changed from `before` to `after`; new files matching a pattern of `allowed_new` are fine."""
    problems = []
    for rel, was in sorted(before.items()):
        now = after.get(rel)
        if now is None:
            problems.append(f"{rel} was removed")
        elif now != was and was[0] == "file":
            problems.append(f"{rel} was changed")
    for rel in sorted(set(after) - set(before)):
        if rel not in allowed_new and not any(fnmatch.fnmatchcase(rel, pattern) for pattern in allowed_new):
            problems.append(f"stray file {rel}")
    return problems


def _unlock_folders_below(root: bytes) -> None:
    for dirpath, dirnames, _ in os.walk(root):
        for name in dirnames:
            try:
                os.chmod(os.path.join(dirpath, name), stat.S_IRWXU, follow_symlinks=False)
            except (OSError, NotImplementedError):
                pass


def unlock_and_remove(folder: Path) -> None:
    root = os.fsencode(folder)
    try:
        os.chmod(root, stat.S_IRWXU)
    except OSError:
        pass
    # a locked folder is unlocked only once its parent can be listed: top down, a few times
    for _ in range(4):
        _unlock_folders_below(root)
    shutil.rmtree(root, ignore_errors=True)


# -- the worker (a separate process) ----------------------------------------------------------------
def _where(tb) -> str:
    frames = traceback.extract_tb(tb)
    inside = [f for f in frames if f.filename.startswith(str(REPO)) and "/tests/fuzz/" not in f.filename]
    f = (inside or frames or [None])[-1]
    if f is None:
        return ""
    return f"{Path(f.filename).relative_to(REPO) if f.filename.startswith(str(REPO)) else f.filename}:{f.lineno}"


def _first_line(text: str) -> str:
    lines = [line for line in str(text).splitlines() if line.strip()]
    return (lines[0] if lines else "")[:300]


def _traceback(e: BaseException) -> dict:
    """The outcome of an exception that is not the project's error type."""
    return {
        "outcome": "traceback",
        "error": type(e).__name__,
        "message": _first_line(str(e)),
        "where": _where(e.__traceback__),
    }


def _names_input(message: str, case, inp, env, folder: Path) -> bool:
    subs = {"folder": str(folder), "data": str(env.data_dir), "model": str(env.ckpt_path)}
    words = [w.format(**subs) for w in case.names if w]
    if inp.path is not None:
        words += [str(inp.path), inp.path.name]
    return any(w and w in message for w in words)


class Worker:
    """What runs inside the worker process: the environment and the entry points."""

    def __init__(self, root: Path, seed: int, total: int | None):
        import numpy as np
        import torch

        torch.set_num_threads(1)
        self.np = np
        self.root = root
        self.env = G.build_env(root / "env")
        self.cases = G.generate_cases(seed, total)
        from explorer_models import load_model

        self.model = load_model(self.env.ckpt_path)

    # entry points -------------------------------------------------------------------------
    def load_model(self, inp) -> None:
        from explorer_models import load_model

        load_model(inp.path)

    def model_source(self, inp) -> None:
        """load_model(ModelSource(...)) as the window and --model/--weights/--trust-code do, then
        what the window does next: encode a few images and decode their means."""
        import torch

        from explorer_models import load_model
        from explorer_models.sources import ModelSource

        model = load_model(ModelSource(inp.spec or str(inp.path), **dict(inp.source)))
        x = torch.rand((3, *model.image_shape), generator=torch.Generator().manual_seed(0))
        with torch.no_grad():
            mu, _logvar = model.encode(x)
            model.decode(mu)

    def dataset(self, inp) -> None:
        from explorer.core.data import load_dataset

        load_dataset(inp.path, image_size=G.IMAGE_SHAPE[1], channels=G.IMAGE_SHAPE[0])

    def for_model(self, inp):
        """load_for_model at the tiny model's shape and latent size (variant "rgb": 3 channels),
        then what the window does next: read a few images and the binary labels."""
        from explorer.core.data import load_for_model

        shape = (3, *G.IMAGE_SHAPE[1:]) if inp.variant == "rgb" else G.IMAGE_SHAPE
        dataset = load_for_model(inp.path, shape, G.LATENT_DIM)
        dataset.images_at(range(min(len(dataset), 4)))
        dataset.binary_label_names()
        return dataset

    def vectors(self, inp) -> None:
        """Load the file, then do with its vectors what the window and `strip --vector` do:
        describe each, and render a sweep along it."""
        from explorer.core.figures import figure as F
        from explorer.core.space.vector_file import load_vectors
        from explorer_models import decode_images

        np = self.np
        for v in load_vectors(inp.path, self.env.model_hash, G.LATENT_DIM)[:3]:
            v.describe()
            start = F.Keyframe(np.zeros(G.LATENT_DIM, np.float32), None, "origin")
            fig = F.build(F.FigureSpec(kind=F.SWEEP, steps=5), [start], v)
            F.render(fig, decode_images(self.model, fig.latents))

    def selection(self, inp) -> None:
        """Export a selection to the path (the window's File > Export Selection; force=False)."""
        from explorer.core.io.selection_export import export_selection

        np = self.np
        names = (
            tuple(f"img-{i}-\udcff.png" for i in range(G.SESSION_POINTS)) if inp.variant == "nonutf8-names" else None
        )
        state = G._headless_state(file_names=names)
        picked = np.zeros(0, int) if inp.variant == "empty" else np.array([1, 2, 3])
        export_selection(inp.path, state.dataset, state.encodings, {"A": picked, "B": np.zeros(0, int)})

    def session(self, inp) -> None:
        """Open the file as the window does (load; check it against the open model and data;
        restore it), then render the strip it restored and describe its vectors."""
        from explorer.core.figures import figure as F
        from explorer.core.io import session as S

        np = self.np
        doc = S.load(inp.path)
        state = G._headless_state()
        problems = S.mismatches(doc, G.SESSION_HASH, G.SESSION_FP)
        if problems:  # the window refuses it with these sentences, under the file's name
            raise S.SessionError(f"{inp.path}: " + "; ".join(problems))
        S.restore(state, doc, str(inp.path))
        fig = state.strip.figure
        if fig is not None:
            F.render(fig, np.zeros((len(fig.latents), 2, 2, 3), np.uint8), state.dataset.images)
        for v in state.sliders.vectors:
            v.describe()
        state.moved_latent  # noqa: B018 - what the sliders show

    def run(self, case, inp, folder: Path) -> dict:
        result = self.cli(case, inp, folder) if case.entry == "cli" else self.api(case, inp, folder)
        if inp.marker is not None and os.path.lexists(inp.marker):
            result["ran_code"] = f"the input ran code: {inp.marker.name} was created"
        return result

    def api(self, case, inp, folder: Path) -> dict:
        from explorer_models.errors import UserInputError

        try:
            value = getattr(self, case.entry)(inp)
        except UserInputError as e:
            message = str(e)
            multi = len([line for line in message.splitlines() if line.strip()]) > 1
            named = _names_input(message, case, inp, self.env, folder)
            outcome = "clean" if named and not multi else "vague"
            if outcome == "clean" and case.error and case.error not in {c.__name__ for c in type(e).__mro__}:
                outcome = "wrong-error"
            return {"outcome": outcome, "error": type(e).__name__, "message": _first_line(message)}
        except BaseException as e:
            return _traceback(e)
        return _reported(inp, list(getattr(value, "problems", ()) or ()))

    def cli(self, case, inp, folder: Path) -> dict:
        from explorer.cli import main

        out, err = io.StringIO(), io.StringIO()
        try:
            with redirect_stdout(out), redirect_stderr(err):
                rc = main(list(inp.argv))
        except SystemExit as e:
            rc = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        except BaseException as e:
            return _traceback(e)
        stderr = err.getvalue()
        lines = [line for line in stderr.splitlines() if line.strip()]
        if "Traceback (most recent call last)" in stderr:
            return {"outcome": "traceback", "error": f"exit {rc}", "message": _first_line(stderr)}
        if rc == 0:
            return _reported(inp, [line for line in lines if line.startswith("warning: skipped ")])
        errors = [i for i, line in enumerate(lines) if line.startswith(PROG) and ": error: " in line]
        if rc not in (1, 2) or not errors:
            return {"outcome": "crash", "error": f"exit {rc}", "message": _first_line(lines[-1] if lines else "")}
        first = errors[0]
        message = lines[first].split(": error: ", 1)[1]
        one_line = first == len(lines) - 1
        named = _names_input(message, case, inp, self.env, folder)
        return {
            "outcome": "clean" if named and one_line else "vague",
            "error": f"exit {rc}",
            "message": _first_line(message) + ("" if one_line else f" (+{len(lines) - 1 - first} more lines)"),
        }


def _reported(inp, problems: list[str]) -> dict:
    """The outcome of an accepted input: are the files it had to skip (Input.skipped) named among
    the problems, and none of the readable images it must keep (Input.kept)?"""
    missing = [name for name in inp.skipped if not any(name in p for p in problems)]
    if missing:
        return {
            "outcome": "unreported",
            "message": f"{missing[0]} is not named among the {len(problems)} skipped files",
        }
    dropped = [p for name in inp.kept for p in problems if name in p]
    if dropped:
        return {"outcome": "dropped", "message": _first_line(dropped[0])}
    return {"outcome": "accepted"}


def worker_main(root: Path, seed: int, total: int | None) -> None:
    import resource
    import warnings

    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    warnings.simplefilter("ignore")
    proto = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # whatever the product prints at the C level goes to the worker log
    sys.stdout = sys.stderr

    def send(msg: dict) -> None:
        proto.write(json.dumps(msg) + "\n")
        proto.flush()

    w = Worker(root, seed, total)
    ids = [c.id for c in w.cases]
    send({"event": "ready", "count": len(ids), "ids": hashlib.sha256("\n".join(ids).encode()).hexdigest()})
    for line in sys.stdin:
        cmd = json.loads(line)
        case, folder = w.cases[cmd["index"]], Path(cmd["folder"])
        folder.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        try:
            inp = case.make(w.env, folder)
        except BaseException as e:
            send(
                {
                    "event": "done",
                    "outcome": "crash",
                    "error": f"generator {type(e).__name__}",
                    "message": _first_line(str(e)),
                    "where": _where(e.__traceback__),
                    "seconds": 0.0,
                }
            )
            continue
        send({"event": "started", "before": snapshot(folder)})
        grown_from = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        result = w.run(case, inp, folder)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        result["peak_mb"], result["grew_mb"] = peak / 1024, (peak - grown_from) / 1024
        for key in ("error", "message"):  # the run's folders by short names
            result[key] = result.get(key, "").replace(str(folder), "<case>").replace(str(w.env.root), "<env>")
        for key in ("ran_code",):
            if key in result:
                result[key] = result[key].replace(str(folder), "<case>")
        result.update(event="done", seconds=time.perf_counter() - started)
        send(result)


# -- the parent ------------------------------------------------------------------------------------
class Runner:
    """Feeds cases to a worker process, one at a time; restarts it after a hang or a crash."""

    def __init__(self, root: Path | None = None, seed: int = G.DEFAULT_SEED, total: int | None = None):
        self.root = Path(root or tempfile.mkdtemp(prefix="vae-explorer-fuzz-"))
        self.root.mkdir(parents=True, exist_ok=True)
        self.seed, self.total = seed, total
        self.cases = G.generate_cases(seed, total)
        self.proc: subprocess.Popen | None = None
        self.buffer = b""
        self.log_path = self.root / "worker.log"
        self.env_before: dict | None = None
        self.starts = 0

    # the worker ---------------------------------------------------------------------------
    def _start(self) -> None:
        env = dict(os.environ)
        env.update(
            OMP_NUM_THREADS="1",
            MKL_NUM_THREADS="1",
            MALLOC_ARENA_MAX="2",
            PYTHONHASHSEED="0",
            QT_QPA_PLATFORM="offscreen",
            VAE_EXPLORER_CACHE_DIR=str(self.root / "cache"),
            VAE_EXPLORER_LOG_DIR=str(self.root / "log"),
        )
        env.pop("PYTEST_CURRENT_TEST", None)
        args = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--worker",
            "--root",
            str(self.root),
            "--seed",
            str(self.seed),
        ]
        if self.total:
            args += ["--cases", str(self.total)]
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            args,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            env=env,
            cwd=self.root,
            start_new_session=True,
        )
        self.buffer = b""
        self.starts += 1
        ready = self._read(time.monotonic() + STARTUP_TIMEOUT)
        expected = hashlib.sha256("\n".join(c.id for c in self.cases).encode()).hexdigest()
        if ready is None or ready.get("event") != "ready" or ready.get("ids") != expected:
            self._stop()
            tail = self.log_path.read_bytes()[-3000:].decode(errors="replace")
            raise RuntimeError(f"the fuzz worker did not start ({ready}); its log ends:\n{tail}")
        if self.env_before is None:
            self.env_before = snapshot(self.root / "env")

    def _stop(self) -> int | None:
        if self.proc is None:
            return None
        proc, self.proc = self.proc, None
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        rc = proc.wait()
        for pipe in (proc.stdin, proc.stdout):
            try:
                pipe.close()
            except OSError:
                pass
        self.log.close()
        return rc

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            try:
                self.proc.stdin.close()  # the worker's loop ends
                self.proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                pass
        self._stop()

    def _read(self, deadline: float) -> dict | None:
        """The worker's next message; None at EOF or when the deadline passes (check self.proc)."""
        fd = self.proc.stdout.fileno()
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_READ)
            while b"\n" not in self.buffer:
                left = deadline - time.monotonic()
                if left <= 0 or not sel.select(left):
                    return None
                chunk = os.read(fd, 65536)
                if not chunk:
                    return {"event": "eof"}
                self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return json.loads(line)

    # one case -----------------------------------------------------------------------------
    def run(self, index: int) -> Result:
        case = self.cases[index]
        res = Result(case.id, case.kind, case.name, case.entry, case.expect, case.issue)
        if self.proc is None:
            self._start()
        folder = self.root / "cases" / f"{index:05d}"
        unlock_and_remove(folder)
        log_offset = self.log_path.stat().st_size
        started = time.monotonic()
        deadline = started + case.timeout
        command = (json.dumps({"index": index, "folder": str(folder)}) + "\n").encode()
        try:
            self.proc.stdin.write(command)
            self.proc.stdin.flush()
        except BrokenPipeError:  # the worker died between cases: a fresh one takes this case
            self._stop()
            self._start()
            self.proc.stdin.write(command)
            self.proc.stdin.flush()
        before = None
        msg = self._read(deadline)
        if msg and msg.get("event") == "started":
            before = msg["before"]
            msg = self._read(deadline)
        if msg is None or msg.get("event") == "eof":
            timed_out = msg is None
            rc = self._stop()
            res.seconds = time.monotonic() - started
            if timed_out:
                res.outcome, res.error, res.message = "hang", "timeout", f"no answer in {case.timeout:g} s"
            else:
                tail = self.log_path.read_bytes()[log_offset:].decode(errors="replace")
                res.outcome = "crash"
                res.error = f"signal {-rc}" if rc is not None and rc < 0 else f"exit {rc}"
                res.message = _first_line("\n".join(tail.strip().splitlines()[-1:])) or "(nothing on stderr)"
        else:
            res.outcome = msg["outcome"]
            res.error, res.message = msg.get("error", ""), msg.get("message", "")
            res.where, res.seconds = msg.get("where", ""), msg.get("seconds", 0.0)
            res.peak_mb, res.grew_mb = msg.get("peak_mb", 0.0), msg.get("grew_mb", 0.0)
        if before is not None:
            allowed = set(case.side_files) | (set(case.outputs) if res.outcome in ACCEPTED else set())
            res.damaged = compare(before, snapshot(folder), allowed)
        if msg and msg.get("ran_code"):
            res.damaged.append(msg["ran_code"])
        env_now = snapshot(self.root / "env")
        if self.env_before is not None and env_now != self.env_before:
            res.damaged += [f"shared input: {p}" for p in compare(self.env_before, env_now, set())]
            self.env_before = env_now
        unlock_and_remove(folder)
        return res

    def run_all(self, only: str = "", progress=None) -> list[Result]:
        results = []
        for i, case in enumerate(self.cases):
            if only and only not in case.id:
                continue
            results.append(self.run(i))
            if progress:
                progress(results[-1])
        return results

    def index_of(self, case_id: str) -> int:
        return next(i for i, c in enumerate(self.cases) if c.id == case_id)


# -- reports ---------------------------------------------------------------------------------------
def summary(results: list[Result]) -> str:
    n = Counter(r.outcome for r in results)
    damaged = sum(1 for r in results if r.damaged)
    return (
        f"fuzz: {len(results)} cases, {n['clean']} clean errors, {n['accepted']} accepted, "
        f"{n['traceback']} tracebacks, {n['crash']} crashes, {n['hang']} hangs, {damaged} damaged"
        f" ({n['vague']} vague errors, {n['wrong-error']} of the wrong error type,"
        f" {sum(1 for r in results if wrongly_accepted(r))} invalid inputs accepted,"
        f" {n['unreported'] + n['dropped']} skipped files misreported,"
        f" worker peak {max((r.peak_mb for r in results), default=0):.0f} MB)"
    )


def wrongly_accepted(r: Result) -> bool:
    return r.outcome in ACCEPTED and r.expect == "error"


def as_expected(r: Result) -> bool:
    """The outcome the case asks for: a clean error (of Case.error's type), or the input
    accepted with every skipped file reported, or either; and nothing damaged."""
    allowed = {"error": ("clean",), "accept": ("accepted",), "either": ("clean", "accepted")}[r.expect]
    return r.outcome in allowed and not r.damaged


def report(results: list[Result]) -> str:
    lines = [summary(results)]
    groups = [
        ("tracebacks, crashes, hangs, damage", [r for r in results if r.bad]),
        (
            "vague errors (the message names neither the input nor the option)",
            [r for r in results if r.outcome == "vague"],
        ),
        ("clean errors of the wrong type", [r for r in results if r.outcome == "wrong-error"]),
        ("invalid inputs accepted", [r for r in results if wrongly_accepted(r)]),
        (
            "accepted, skipped files misreported",
            [r for r in results if r.outcome in ("unreported", "dropped") and not wrongly_accepted(r)],
        ),
        ("accepted (valid or either)", [r for r in results if r.outcome == "accepted" and not wrongly_accepted(r)]),
    ]
    grew = sorted((r for r in results if r.grew_mb >= 50), key=lambda r: -r.grew_mb)[:5]
    if grew:
        lines.append(
            "cases that raised the worker's peak memory most: " + ", ".join(f"{r.id} +{r.grew_mb:.0f} MB" for r in grew)
        )
    for title, rs in groups:
        lines.append(f"\n== {title}: {len(rs)}")
        lines += [f"  {r.line()}" for r in rs]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--root", help="the run's folder (default: a new temporary one)")
    p.add_argument("--seed", type=int, default=G.DEFAULT_SEED)
    p.add_argument(
        "--cases", type=int, default=G.default_total(), help="about this many cases (default: the fixed set)"
    )
    p.add_argument("--only", default="", help="run the cases whose id contains this text")
    p.add_argument("--results", help="write every result here as JSON lines")
    p.add_argument("--verbose", action="store_true", help="print each case as it ends")
    args = p.parse_args(argv)
    if args.worker:
        worker_main(Path(args.root), args.seed, args.cases)
        return 0
    runner = Runner(Path(args.root) if args.root else None, args.seed, args.cases)
    started = time.monotonic()
    try:
        results = runner.run_all(args.only, (lambda r: print(r.line(), flush=True)) if args.verbose else None)
    finally:
        runner.close()
    if args.results:
        with open(args.results, "w") as f:
            for r in results:
                f.write(json.dumps(asdict(r)) + "\n")
    print(report(results))
    print(f"({time.monotonic() - started:.1f} s, worker started {runner.starts} times, folder {runner.root})")
    return 1 if any(r.bad for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
