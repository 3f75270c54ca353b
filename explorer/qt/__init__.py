"""The explorer window (PySide6 + pyqtgraph): widgets that observe explorer.core state."""
