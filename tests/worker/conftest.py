import queue

import pytest


class Results:
    """A worker's result callback that keeps what it is given, for the test to read in order."""

    def __init__(self):
        self.q = queue.Queue()

    def __call__(self, r):
        self.q.put(r)

    def next(self, kind=object, timeout=10):
        """The next result of `kind` (others before it are skipped)."""
        while not isinstance(r := self.q.get(timeout=timeout), kind):
            pass
        return r

    def all(self):
        out = []
        while not self.q.empty():
            out.append(self.q.get())
        return out


@pytest.fixture
def results():
    """results() -> a new Results callback."""
    return Results
