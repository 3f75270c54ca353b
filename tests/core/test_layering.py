"""models/ and explorer/core/ stay usable without Qt (notebooks, the headless CLI)."""

import re
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
    # the models/ folder is installed as the package explorer_models (pyproject.toml's package-dir)
    packages = {"models": "explorer_models", "explorer/core": "explorer.core"}
    modules = sorted(
        ".".join((name, *p.relative_to(root / folder).with_suffix("").parts)).removesuffix(".__init__")
        for folder, name in packages.items()
        for p in (root / folder).rglob("*.py")
    )
    assert "explorer_models.checkpoint" in modules and "explorer.core.data.faces" in modules
    code = BLOCK_QT + "".join(f"import {m}\n" for m in modules) + "print('ok')"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_every_package_folder_is_installed_under_our_own_names():
    """pyproject.toml lists the packages by hand (models/ installs as explorer_models, so a user's
    own models.py cannot shadow it): a new sub-package left out of the list would be missing from
    every non-editable install."""
    root = Path(__file__).resolve().parents[2]
    text = (root / "pyproject.toml").read_text()
    listed = set(re.findall(r'^\s+"([\w.]+)",$', text.split("packages = [", 1)[1].split("]", 1)[0], re.M))
    folders = {
        ".".join(p.parent.relative_to(root).parts).replace("models", "explorer_models", 1)
        for folder in ("explorer", "models")
        for p in (root / folder).rglob("__init__.py")
    }
    assert "explorer_models" in folders and "explorer.core.data" in folders
    assert listed == folders
    assert 'explorer_models = "models"' in text
