"""Show uint8 images large and crisp: nearest-neighbour scaling, letterboxed, no blur; or, where
there is no image to show (a point of precomputed latents), a neutral placeholder that says so."""

from __future__ import annotations

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets


def to_qimage(image: np.ndarray) -> QtGui.QImage:
    """(H, W, 3) or (H, W, 1) uint8 -> a QImage that owns a copy of the pixels.

    The pixels are copied into the QImage's own memory (through bits()) rather than wrapped
    with QImage(buffer, ...): PySide6 mishandled the reference to a wrapped numpy buffer,
    and under heavy hovering that crashed the process ("deallocating None").
    """
    h, w, c = image.shape
    fmt = QtGui.QImage.Format.Format_RGB888 if c == 3 else QtGui.QImage.Format.Format_Grayscale8
    qimage = QtGui.QImage(w, h, fmt)
    rows = np.frombuffer(qimage.bits(), np.uint8).reshape(h, qimage.bytesPerLine())
    rows[:, : w * c] = np.asarray(image, np.uint8).reshape(h, w * c)
    return qimage


class ImageView(QtWidgets.QWidget):
    """One image, scaled to fit with whole pixels kept sharp, or a placeholder's text. Click to
    emit `clicked`."""

    clicked = QtCore.Signal()

    def __init__(self, min_size: int = 48, caption: str = "", preferred: int | None = None, parent=None):
        super().__init__(parent)
        self._array: np.ndarray | None = None
        self._qimage: QtGui.QImage | None = None
        self._placeholder = ""
        self._caption = caption
        self._preferred = preferred or min_size
        self.setMinimumSize(min_size, min_size)
        self.setSizePolicy(QtWidgets.QSizePolicy.Policy.Expanding, QtWidgets.QSizePolicy.Policy.Expanding)

    def set_image(self, image: np.ndarray | None, caption: str | None = None) -> None:
        self._array = None if image is None else np.array(image, copy=True)
        self._qimage = None if image is None else to_qimage(self._array)
        if self._placeholder:
            self._placeholder = ""
            self.setToolTip("")
        if caption is not None:
            self._caption = caption
        self.update()

    def set_placeholder(self, text: str, caption: str | None = None) -> None:
        """Show no image but a neutral frame saying `text` (e.g. why there is none); clickable."""
        self.set_image(None, caption)
        self._placeholder = text
        self.setToolTip(text)

    def placeholder(self) -> str:
        """The placeholder's text; "" while an image (or nothing) is shown."""
        return self._placeholder

    def image(self) -> np.ndarray | None:
        """The exact pixels shown (H, W, C) uint8, or None."""
        return self._array

    def caption(self) -> str:
        return self._caption

    def heightForWidth(self, width: int) -> int:
        return width

    def sizeHint(self) -> QtCore.QSize:
        return QtCore.QSize(self._preferred, self._preferred)

    def _caption_height(self) -> int:
        return self.fontMetrics().height() + 2 if self._caption else 0

    def image_rect(self) -> QtCore.QRect | None:
        """Where the image is drawn in the widget: as large as fits, centred, enlarged by whole
        pixels (every source pixel the same size); None when there is no image."""
        if self._qimage is None:
            return None
        area = self.rect().adjusted(0, 0, 0, -self._caption_height())
        iw, ih = self._qimage.width(), self._qimage.height()
        scale = max(min(area.width() / iw, area.height() / ih), 0.01)
        if scale >= 1:
            scale = float(int(scale))
        w, h = int(iw * scale), int(ih * scale)
        return QtCore.QRect(area.x() + (area.width() - w) // 2, area.y() + (area.height() - h) // 2, w, h)

    def paintEvent(self, event) -> None:
        p = QtGui.QPainter(self)
        p.fillRect(self.rect(), self.palette().color(QtGui.QPalette.ColorRole.Base))
        caption_h = self._caption_height()
        target = self.image_rect()
        if target is not None:
            # enlarged: whole crisp pixels; shrunk (a long strip in a small view): smooth, not aliased
            p.setRenderHint(QtGui.QPainter.RenderHint.SmoothPixmapTransform, target.width() < self._qimage.width())
            p.drawImage(target, self._qimage)
        elif self._placeholder:
            self._paint_placeholder(p, self.rect().adjusted(0, 0, 0, -caption_h))
        if self._caption:
            p.setPen(self.palette().color(QtGui.QPalette.ColorRole.Text))
            p.drawText(
                self.rect().adjusted(0, self.height() - caption_h, 0, 0),
                QtCore.Qt.AlignmentFlag.AlignCenter,
                self._caption,
            )
        p.end()

    def _paint_placeholder(self, p: QtGui.QPainter, area: QtCore.QRect) -> None:
        """A square of the window's own tone with a dashed edge, and the text inside when it fits."""
        side = min(area.width(), area.height()) - 2
        if side < 4:
            return
        square = QtCore.QRect(area.x() + (area.width() - side) // 2, area.y() + (area.height() - side) // 2, side, side)
        palette = self.palette()
        p.fillRect(square, palette.color(QtGui.QPalette.ColorRole.Window))
        p.setPen(QtGui.QPen(palette.color(QtGui.QPalette.ColorRole.Mid), 1, QtCore.Qt.PenStyle.DashLine))
        p.drawRect(square)
        text = self._placeholder if side >= 80 else "no image"
        if side >= 40:
            p.setPen(palette.color(QtGui.QPalette.ColorRole.PlaceholderText))
            p.drawText(
                square.adjusted(4, 4, -4, -4),
                QtCore.Qt.AlignmentFlag.AlignCenter | QtCore.Qt.TextFlag.TextWordWrap,
                text,
            )

    def mouseReleaseEvent(self, event) -> None:
        shown = self._array is not None or self._placeholder
        if event.button() == QtCore.Qt.MouseButton.LeftButton and shown:
            self.clicked.emit()


class ImageRow(QtWidgets.QWidget):
    """A row of small images with captions; `clicked(i)` when image i is clicked."""

    clicked = QtCore.Signal(int)

    def __init__(self, count: int, size: int = 56, min_size: int = 24, captions: bool = True, parent=None):
        super().__init__(parent)
        layout = QtWidgets.QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(3)
        self.views = []
        for i in range(count):
            view = ImageView(min_size=min_size, caption=" " if captions else "", preferred=size)
            view.clicked.connect(lambda i=i: self.clicked.emit(i))
            layout.addWidget(view)
            self.views.append(view)
        # as tall as the thumbnails are wide (plus a caption) when there is room; smaller on a
        # small screen rather than pushing the window's minimum height up
        caption = self.fontMetrics().height() + 4 if captions else 0
        self._preferred_height = size + caption
        self.setMinimumHeight(min_size + caption)
        self.setSizePolicy(QtWidgets.QSizePolicy.Policy.Expanding, QtWidgets.QSizePolicy.Policy.Preferred)

    def sizeHint(self) -> QtCore.QSize:
        return QtCore.QSize(super().sizeHint().width(), self._preferred_height)

    def set_images(self, images, captions=None) -> None:
        images = [] if images is None else list(images)
        captions = list(captions) if captions is not None else [""] * len(images)
        for i, view in enumerate(self.views):
            view.set_image(images[i] if i < len(images) else None, captions[i] if i < len(images) else "")

    def set_placeholders(self, captions, text: str) -> None:
        """A placeholder saying `text` in the first len(captions) views, with those captions."""
        captions = list(captions)
        for i, view in enumerate(self.views):
            if i < len(captions):
                view.set_placeholder(text, captions[i])
            else:
                view.set_image(None, "")

    def images(self) -> list[np.ndarray | None]:
        return [v.image() for v in self.views]
