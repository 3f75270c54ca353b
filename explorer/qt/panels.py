"""Side panels: the decoder's view of the cursor, the nearest data point, the VAE's posterior.

A dataset of precomputed latents has no images and may have no posterior width (logvar): its
points' own images are placeholders saying so, and the terms it lacks are said to be unknown."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from explorer.core.data import NO_IMAGE, has_images
from explorer.core.state.explorer_state import N_NEIGHBOURS, Cursor, Decoded, ExplorerState
from explorer.qt.image_view import ImageRow, ImageView


def _heading(text: str) -> QtWidgets.QLabel:
    label = QtWidgets.QLabel(f"<b>{text}</b>")
    label.setTextFormat(QtCore.Qt.TextFormat.RichText)
    return label


def _wrapped(text: str) -> QtWidgets.QLabel:
    label = QtWidgets.QLabel(text)
    label.setWordWrap(True)
    return label


def _format_labels(state: ExplorerState, index: int) -> str:
    ds = state.dataset
    parts = [f"<b>#{index}</b>"]
    if ds.file_names:
        parts.append(ds.file_names[index])
    for name, value in zip(ds.label_names, ds.labels[index]):
        parts.append(f"{name} <b>{value:g}</b>" if float(value).is_integer() else f"{name} <b>{value:.2f}</b>")
    return " &nbsp;·&nbsp; ".join(parts)


FAR_FROM_DATA = 3.0  # map spacings from the nearest data point beyond which a non-linear inverse guesses


class DecoderPanel(QtWidgets.QWidget):
    """The decoded image under the cursor, large; the nearest data point beside it."""

    def __init__(self, state: ExplorerState, parent=None):
        super().__init__(parent)
        self.state = state
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(_heading("Decoder at the cursor"))
        self.decoded = ImageView(min_size=128, preferred=256)
        self.decoded.setObjectName("decodedView")
        self.decoded.setToolTip("decode(z) for the latent under the cursor (or the pinned one)")
        layout.addWidget(self.decoded, stretch=1)
        self.latent_text = QtWidgets.QLabel("Move the cursor over the map.")
        self.latent_text.setWordWrap(True)
        layout.addWidget(self.latent_text)

        self.nearest_box = QtWidgets.QWidget()
        self.nearest_box.setObjectName("nearestView")
        box = QtWidgets.QVBoxLayout(self.nearest_box)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(_heading("Nearest data point"))
        pair = QtWidgets.QHBoxLayout()
        self.original = ImageView(min_size=56, caption="original", preferred=100)
        self.reconstruction = ImageView(min_size=56, caption="reconstruction", preferred=100)
        pair.addWidget(self.original)
        pair.addWidget(self.reconstruction)
        box.addLayout(pair, stretch=2)
        self.labels = QtWidgets.QLabel()
        self.labels.setWordWrap(True)
        self.labels.setTextFormat(QtCore.Qt.TextFormat.RichText)
        box.addWidget(self.labels)
        box.addWidget(_wrapped(f"Its {N_NEIGHBOURS} nearest neighbours in latent space (click to pin):"))
        self.neighbours = ImageRow(N_NEIGHBOURS, size=44)
        self.neighbours.clicked.connect(self._pin_neighbour)
        box.addWidget(self.neighbours, stretch=1)
        layout.addWidget(self.nearest_box)
        self._neighbours_of: int | None = None
        self._neighbour_ids = np.zeros(0, int)

        state.cursor_changed.connect(self._on_cursor)
        state.focus_changed.connect(self._show_focus)
        state.focus_settled.connect(self._show_neighbours)
        state.decoded_changed.connect(self._on_decoded)
        state.data_changed.connect(self._clear)

    def _clear(self) -> None:
        for view in (self.decoded, self.original):
            view.set_image(None)
        # with no image to reconstruct, decode(mu) is what the model makes of the point's latent
        self.reconstruction.set_image(None, "reconstruction" if self._has_images() else "decode(mu)")
        self.neighbours.set_images([])
        self.labels.setText("")
        self._neighbours_of = None

    def _on_cursor(self, cursor: Cursor | None) -> None:
        if cursor is None:
            return
        z = ", ".join(f"{v:.2f}" for v in cursor.latent[:6]) + (", …" if len(cursor.latent) > 6 else "")
        text = f"z = [{z}]  (map {cursor.map_xy[0]:.2f}, {cursor.map_xy[1]:.2f})"
        remoteness = getattr(self.state.projection, "remoteness", None)  # a non-linear map's inverse
        if remoteness is not None and remoteness(cursor.map_xy) > FAR_FROM_DATA:
            text += " · far from the data: this latent is a guess"
        self.latent_text.setText(text)

    def _show_focus(self, index: int | None) -> None:
        if index is None:
            return
        if self._has_images():
            self.original.set_image(self.state.dataset.images_at([index])[0])
        else:
            self.original.set_placeholder(NO_IMAGE)
        self.labels.setText(_format_labels(self.state, index))

    def _show_neighbours(self, index: int) -> None:
        """The focus's neighbours, once the cursor rests on it (the same ones are not set again)."""
        if index == self._neighbours_of:
            return
        self._neighbours_of = index
        self._neighbour_ids = self.state.latent_neighbours(index, N_NEIGHBOURS)
        ids = self._neighbour_ids
        if self._has_images():
            self.neighbours.set_images(self.state.dataset.images_at(ids), [f"#{i}" for i in ids])
        else:
            self.neighbours.set_placeholders([f"#{i}" for i in ids], NO_IMAGE)

    def _has_images(self) -> bool:
        return self.state.dataset is None or has_images(self.state.dataset)

    def _pin_neighbour(self, i: int) -> None:
        if i < len(self._neighbour_ids):
            self.state.pin_data_point(int(self._neighbour_ids[i]))

    def _on_decoded(self, slot: str, decoded: Decoded) -> None:
        if slot == "cursor":
            self.decoded.set_image(decoded.images[0])
        elif slot == "nearest":
            self.reconstruction.set_image(decoded.images[0])


class PosteriorPanel(QtWidgets.QWidget):
    """What the VAE believes about a data point: q(z|x) samples and ELBO terms; prior samples."""

    sample_prior_requested = QtCore.Signal()

    def __init__(self, state: ExplorerState, n_samples: int, parent=None):
        super().__init__(parent)
        self.setObjectName("posteriorView")
        self.state = state
        layout = QtWidgets.QVBoxLayout(self)
        self.title = _heading("Posterior q(z|x)")
        layout.addWidget(self.title)
        self.terms = QtWidgets.QLabel("Hover a data point to see its posterior.")
        self.terms.setWordWrap(True)
        self.terms.setTextFormat(QtCore.Qt.TextFormat.RichText)
        layout.addWidget(self.terms)
        layout.addWidget(_wrapped("Decodes of z ~ q(z|x) (on the map: the yellow 1σ ellipse):"))
        self.samples = ImageRow(n_samples, size=44, captions=False)
        layout.addWidget(self.samples)
        row = QtWidgets.QHBoxLayout()
        row.addWidget(_wrapped("Decodes of z ~ N(0, I) (on the map: red crosses):"), stretch=1)
        self.prior_button = QtWidgets.QPushButton("Sample from prior")
        self.prior_button.clicked.connect(self.sample_prior_requested.emit)
        row.addWidget(self.prior_button)
        layout.addLayout(row)
        self.prior = ImageRow(n_samples, size=44, captions=False)
        layout.addWidget(self.prior)
        layout.addStretch(1)
        state.decoded_changed.connect(self._on_decoded)
        state.data_changed.connect(lambda: (self.samples.set_images([]), self.prior.set_images([])))

    def show_terms(self, index: int) -> None:
        """The point's ELBO terms and posterior width; the ones its data cannot give (NaN: no
        image to reconstruct, no logvar in a latents file) are said to be unknown."""
        enc = self.state.encodings
        recon, kl, mse = float(enc.recon[index]), float(enc.kl[index]), float(enc.mse[index])
        logvar = np.asarray(enc.logvar[index], np.float64)
        self.title.setText(f"<b>Posterior q(z|x) of data point #{index}</b>")
        if np.isfinite(recon):
            terms = (
                f"ELBO <b>{-(recon + kl):.1f}</b> = −(recon {recon:.1f} + KL {kl:.1f}) nats"
                f" &nbsp;·&nbsp; per-pixel MSE {mse:.5f}"
            )
        elif np.isfinite(kl):
            terms = f"KL <b>{kl:.1f}</b> nats &nbsp;·&nbsp; no reconstruction terms: {NO_IMAGE}"
        else:
            terms = f"no ELBO terms: {NO_IMAGE}"
        if np.isfinite(logvar).all():
            sigma = np.exp(0.5 * logvar)
            width = f"posterior σ: mean {sigma.mean():.3f}, smallest {sigma.min():.3f}, largest {sigma.max():.3f}"
        else:
            width = "posterior σ unknown: the data gives no logvar, so no samples of q(z|x)"
        self.terms.setText(f"{terms}<br>{width}")

    def _on_decoded(self, slot: str, decoded: Decoded) -> None:
        if slot == "posterior" and not np.isfinite(decoded.latents).all():  # the posterior width is unknown
            self.samples.set_placeholders([""] * len(decoded.images), "σ unknown")
        elif slot == "posterior":
            self.samples.set_images(decoded.images)
        elif slot == "prior":
            self.prior.set_images(decoded.images)


CLICK_TWO_BARS = "click two bars to map those two dimensions"
UNKNOWN_KL = "KL per dimension unknown: the data gives no logvar"


class ActiveUnits(pg.PlotWidget):
    """Mean KL per latent dimension, sorted: which units the model uses. Click two bars to
    view those two raw dimensions on the map."""

    def __init__(self, state: ExplorerState, parent=None):
        super().__init__(parent)
        self.setObjectName("activeUnits")
        self.state = state
        self.setLabel("left", "mean KL (nats)")
        self.plotItem.setMenuEnabled(False)
        self.setMouseEnabled(x=False, y=False)
        # say that the bars are buttons: nothing else on a bar chart suggests it
        self.setTitle(CLICK_TWO_BARS, size="9pt", color="#9a9a9a")
        self.setCursor(QtCore.Qt.CursorShape.PointingHandCursor)
        self.setToolTip(
            "mean KL of each latent dimension over the data: near 0 = a dimension the model "
            "does not use. Click two bars to view those two dimensions on the map."
        )
        self._bars: pg.BarGraphItem | None = None
        self.order = np.zeros(0, int)  # dimension shown at each bar position
        self.chosen: list[int] = []
        state.data_changed.connect(self._draw)
        state.projection_changed.connect(self._draw_once)
        self.scene().sigMouseClicked.connect(self._on_click)

    def _draw_once(self) -> None:
        if self._bars is None:  # the first map of these encodings brings their active units
            self._draw()

    def _draw(self) -> None:
        if self._bars is not None:
            self.removeItem(self._bars)
            self._bars = None
        space = self.state.latent_space
        if space is None:
            return
        kl = space.kl_per_dim
        if not np.isfinite(kl).all():  # latents without logvar: no posterior, no KL per dimension
            self.order, self.chosen = np.zeros(0, int), []
            self.getAxis("bottom").setTicks(None)
            self.setTitle(UNKNOWN_KL, size="9pt", color="#9a9a9a")
            return
        self.setTitle(CLICK_TWO_BARS, size="9pt", color="#9a9a9a")
        self.order = np.argsort(kl)[::-1]
        self.chosen = []
        self._bars = pg.BarGraphItem(x=np.arange(len(kl)), height=kl[self.order], width=0.8, brush=(78, 154, 230))
        self.addItem(self._bars)
        self.getAxis("bottom").setTicks([[(i, f"z{d}") for i, d in enumerate(self.order)]])
        self._recolour()

    def choose(self, position: int) -> None:
        """Select the bar at `position`; the second choice sets the map to those raw dims."""
        dim = int(self.order[position])
        self.chosen = [*[d for d in self.chosen if d != dim][-1:], dim]
        if len(self.chosen) == 2:
            self.state.set_raw_dims(*self.chosen)
        self._recolour()

    def _recolour(self) -> None:
        if self._bars is not None:
            brushes = [pg.mkBrush(255, 140, 0) if d in self.chosen else pg.mkBrush(78, 154, 230) for d in self.order]
            self._bars.setOpts(brushes=brushes)

    def _on_click(self, ev) -> None:
        if self._bars is None:
            return
        x = self.plotItem.vb.mapSceneToView(ev.scenePos()).x()
        position = round(x)
        if 0 <= position < len(self.order):
            self.choose(position)
