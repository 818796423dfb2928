"""Errors that describe a user's mistake (a path, a name, a value, a file) rather than a bug.

They subclass the built-in errors a caller would expect (``ValueError``, ``FileNotFoundError``), so the
Python API raises what it always raised; the command-line tools report them as one ``error:`` line with
exit status 2 (``timm_ran.cli.run_tool``), while any other exception keeps its traceback.
"""

__all__ = ['InputError', 'MissingPathError', 'CheckpointError', 'NoWeightsError']


class InputError(ValueError):
    """Something the user gave is wrong; the message names it and what is allowed."""


class MissingPathError(InputError, FileNotFoundError):
    """A path the user gave does not exist."""


class CheckpointError(InputError):
    """A weights file that cannot be loaded: not a checkpoint, damaged, or of another architecture."""


class NoWeightsError(InputError, RuntimeError):
    """``pretrained=True`` for a model that has no trained weights."""
