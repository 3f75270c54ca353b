"""models/ and explorer/core/ stay usable without Qt (notebooks, the headless CLI)."""

import subprocess
import sys
from pathlib import Path

BLOCK_QT = """
import sys
class _NoQt:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in {'PySide6', 'PyQt5', 'PyQt6', 'pyqtgraph', 'superqt', 'qtpy'}:
            raise ImportError(f'{name} imported from a Qt-free layer')
sys.meta_path.insert(0, _NoQt())
"""


def test_models_and_core_import_without_qt():
    root = Path(__file__).resolve().parents[2]
    modules = sorted(
        ".".join(p.relative_to(root).with_suffix("").parts).removesuffix(".__init__")
        for package in ("models", "explorer/core")
        for p in (root / package).rglob("*.py")
    )
    assert "models.checkpoint" in modules and "explorer.core.data.faces" in modules
    code = BLOCK_QT + "".join(f"import {m}\n" for m in modules) + "print('ok')"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
