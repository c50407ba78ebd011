"""Typed errors with messages a clinician understands.

Every error raised on purpose by disccore derives from DiscCoreError. The CLI prints its
message on one line and exits with its exit_code; the Slicer panels show the message.
"""


class DiscCoreError(Exception):
    """Base of all expected failures. The message is shown to the user as is."""

    exit_code = 1


class InputError(DiscCoreError):
    """An input path is missing, unreadable, or not an image/segmentation we can use."""

    exit_code = 2


class ImageContentError(InputError):
    """The file was read but its content cannot be used (2D, 4D, empty, bad geometry)."""

    exit_code = 3


class LabelError(InputError):
    """A label map's values cannot be matched to named structures."""

    exit_code = 4


class OutputError(DiscCoreError):
    """An output cannot be written (folder missing, file exists without --overwrite)."""

    exit_code = 5


class ModelError(DiscCoreError):
    """The model is missing, corrupt (checksum mismatch) or cannot run."""

    exit_code = 6


class NothingFoundError(DiscCoreError):
    """The model ran but found no vertebral body and no disc: not a lumbar spine MRI, or one it cannot read."""

    exit_code = 7


class Cancelled(DiscCoreError):
    """The user cancelled a long-running operation."""

    exit_code = 130
