"""What the CLI tests share: running the command in this process, as `vae-explorer ARGS`."""

from __future__ import annotations

import pytest

from explorer.cli import main


@pytest.fixture
def cli(capsys):
    """cli(*args) -> (exit code, stdout, stderr) of `vae-explorer ARGS` (paths may be Paths)."""

    def run(*argv):
        try:
            code = main([str(a) for a in argv])
        except SystemExit as e:  # argparse exits on --help, --version and usage errors
            code = e.code
        out = capsys.readouterr()
        return code, out.out, out.err

    return run
