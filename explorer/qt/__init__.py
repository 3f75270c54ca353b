"""The explorer window (PySide6 + pyqtgraph): widgets that observe explorer.core state."""

import pyqtgraph as pg

# pyqtgraph drops mouse moves that come sooner than 1/mouseRateLimit s after the last one, with
# no trailing update: the last move of a quick gesture (or of a drag) could be lost, leaving the
# decoded image a few pixels behind where the pointer stopped. Qt already merges moves that
# queue up while the window is busy, so every move it delivers is handled. (A config option is
# process-wide: other pyqtgraph plots in a host that embeds the window handle every move too.)
pg.setConfigOptions(mouseRateLimit=-1)
