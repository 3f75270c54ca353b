"""Opening a user's own model class from the window: one form for what `--model FILE.py:Class`
takes on the command line (the class, its weights, its arguments, the image shape and how to
read its outputs). It checks what it can before anything loads, and does not block."""

from __future__ import annotations

import json
from pathlib import Path

from PySide6 import QtCore, QtWidgets

from explorer_models.errors import ModelSpecError
from explorer_models.sources import DECODER_OUTPUTS, ENCODER_OUTPUTS, ModelSource, parse_image_shape

WEIGHTS_FILTER = "Weights (*.safetensors *.pt *.pth)"
ENCODER_TEXT = {
    "auto": "worked out (a pair is mu, log-variance)",
    "mu-logvar": "mu, log-variance",
    "mu-logsigma": "mu, log-sigma",
    "mu-sigma": "mu, sigma (a standard deviation)",
}
DECODER_TEXT = {
    "auto": "worked out from its values",
    "probabilities": "probabilities in [0, 1]",
    "logits": "logits (a sigmoid is applied)",
    "signed": "values in [-1, 1] (tanh)",
}


class ModelClassDialog(QtWidgets.QDialog):
    """chosen(ModelSource) when the user opens; nothing on Cancel."""

    chosen = QtCore.Signal(object)

    def __init__(self, path: Path, classes: list[str], parent: QtWidgets.QWidget):
        super().__init__(parent)
        self.path = path
        self.setObjectName("modelClassDialog")
        self.setWindowTitle(f"Open {path.name}")
        self.cls = QtWidgets.QComboBox()
        self.cls.addItems(classes)
        self.weights = QtWidgets.QLineEdit(placeholderText="none: the class's own initial weights")
        self.browse = QtWidgets.QPushButton("Browse…")
        self.browse.clicked.connect(self._browse)
        weights_row = QtWidgets.QHBoxLayout()
        weights_row.addWidget(self.weights, 1)
        weights_row.addWidget(self.browse)
        self.model_args = QtWidgets.QLineEdit(placeholderText='keyword arguments as JSON, e.g. {"z_dim": 32}')
        self.image_shape = QtWidgets.QLineEdit(placeholderText="worked out; or channels,height,width, e.g. 1,28,28")
        self.encoder = _choices(ENCODER_OUTPUTS, ENCODER_TEXT)
        self.decoder = _choices(DECODER_OUTPUTS, DECODER_TEXT)
        self.problem = QtWidgets.QLabel(objectName="problem", wordWrap=True)
        self.problem.setStyleSheet("color: #b00020")
        self.problem.hide()
        form = QtWidgets.QFormLayout()
        form.addRow("Class", self.cls)
        form.addRow("Weights", weights_row)
        form.addRow("Arguments", self.model_args)
        form.addRow("Image shape", self.image_shape)
        form.addRow("encode() returns", self.encoder)
        form.addRow("decode() returns", self.decoder)
        buttons = QtWidgets.QDialogButtonBox(
            QtWidgets.QDialogButtonBox.StandardButton.Open | QtWidgets.QDialogButtonBox.StandardButton.Cancel
        )
        self.open_button = buttons.button(QtWidgets.QDialogButtonBox.StandardButton.Open)
        buttons.accepted.connect(self._try_accept)
        buttons.rejected.connect(self.reject)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(QtWidgets.QLabel(f"{path}", wordWrap=True))
        layout.addLayout(form)
        layout.addWidget(self.problem)
        layout.addWidget(buttons)
        self.finished.connect(self.deleteLater)
        self.setMinimumWidth(520)

    def source(self) -> ModelSource:
        """The ModelSource the form describes; ModelSpecError naming the field that is wrong."""
        args = self.model_args.text().strip()
        if args:
            try:
                value = json.loads(args)
            except json.JSONDecodeError as e:
                raise ModelSpecError(f"Arguments: not valid JSON ({e.msg}, column {e.colno})") from None
            if not isinstance(value, dict):
                raise ModelSpecError('Arguments: a JSON object of keyword arguments, such as {"z_dim": 32}')
        shape = self.image_shape.text().strip()
        weights = self.weights.text().strip()
        if weights and not Path(weights).expanduser().is_file():
            raise ModelSpecError(f"Weights: {weights}: no such file")
        return ModelSource(
            f"{self.path}:{self.cls.currentText()}",
            weights=weights,
            model_args=args,
            image_shape=parse_image_shape(shape) if shape else None,
            encoder_output=self.encoder.currentData(),
            decoder_output=self.decoder.currentData(),
        )

    def _try_accept(self) -> None:
        try:
            source = self.source()
        except ModelSpecError as e:
            self.problem.setText(str(e).replace("--image-shape", "Image shape"))
            self.problem.show()
            return
        self.accept()
        self.chosen.emit(source)

    def _browse(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(
            self, f"Weights for {self.cls.currentText()}", str(self.path.parent), WEIGHTS_FILTER
        )
        if path:
            self.weights.setText(path)


def _choices(values: tuple[str, ...], text: dict[str, str]) -> QtWidgets.QComboBox:
    box = QtWidgets.QComboBox()
    for value in values:
        box.addItem(text[value], value)
    return box
