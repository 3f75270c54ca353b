"""The installed Qt binding must deliver queued signals across threads without corrupting
Python's reference counts. PySide6 6.12.0 did not: the process died with "deallocating None"
within seconds of hovering. pyproject.toml pins PySide6 below 6.12 for this reason."""

import subprocess
import sys

STRESS = r"""
import threading, time
from PySide6 import QtCore, QtWidgets
app = QtWidgets.QApplication([])
class Bridge(QtCore.QObject):
    delivered = QtCore.Signal(object)
bridge, got = Bridge(), [0]
bridge.delivered.connect(lambda r: got.__setitem__(0, got[0] + 1), QtCore.Qt.ConnectionType.QueuedConnection)
stop = False
def work():
    while not stop:
        bridge.delivered.emit((1, None, True, "decoded"))
        time.sleep(0.0002)
thread = threading.Thread(target=work)
thread.start()
t0 = time.time()
while time.time() - t0 < 4:
    app.processEvents()
stop = True
thread.join()
print("delivered", got[0])
"""


def test_queued_cross_thread_signals_do_not_corrupt_reference_counts():
    out = subprocess.run(
        [sys.executable, "-c", STRESS],
        capture_output=True,
        text=True,
        timeout=120,
        env={"QT_QPA_PLATFORM": "offscreen", "PATH": ""},
    )
    assert out.returncode == 0, out.stderr[-1500:]
    assert int(out.stdout.split()[-1]) > 1000
