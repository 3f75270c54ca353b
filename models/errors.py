"""Errors caused by what a user gave us (a file, a spec, an option).

Their message is complete and names the file or value at fault, so the CLI prints it on one
line and the window shows it in a dialog; neither needs a traceback.
"""


class UserInputError(Exception):
    """Bad input from the user: shown as is, never a crash."""


class CheckpointError(UserInputError):
    """A checkpoint file is missing, damaged, or does not match its own description."""


class ModelSpecError(UserInputError):
    """A model SPEC names no built-in model and no usable file."""


class TrainingError(UserInputError):
    """Training cannot go on (the loss became NaN or infinite); the message says where and why."""
