"""Checkpoints of the scorer: a pickle of the whole object, written atomically.

The file is written to a temporary name in the same directory, flushed and fsynced, then
renamed over the target, so a crash leaves either the old or the new checkpoint, never a
torn one. Only load checkpoints this deployment wrote (pickle runs code on load).
"""

from __future__ import annotations

import os
import pickle  # noqa: S403  (our own checkpoints only, see the module docstring)
import tempfile
from pathlib import Path

from detectors.errors import DetectorError
from detectors.scoring.scorer import EnterpriseScorer


class CheckpointError(DetectorError):
    """A checkpoint file is missing, unreadable, or not a scorer."""


def write_atomically(payload: bytes, path: Path | str) -> int:
    """Write ``payload`` to a temporary file beside ``path``, fsync, rename over ``path``."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return len(payload)


def save_checkpoint(scorer: EnterpriseScorer, path: Path | str) -> int:
    """Write ``scorer`` to ``path`` atomically; returns the number of bytes written."""
    return write_atomically(pickle.dumps(scorer, protocol=pickle.HIGHEST_PROTOCOL), path)


def load_checkpoint(path: Path | str) -> EnterpriseScorer:
    """Read a scorer written by :func:`save_checkpoint`."""
    try:
        with Path(path).open("rb") as handle:
            scorer = pickle.load(handle)  # noqa: S301
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError) as exc:
        raise CheckpointError(f"cannot load scorer checkpoint {path}: {exc}") from exc
    if not isinstance(scorer, EnterpriseScorer):
        raise CheckpointError(f"{path} holds a {type(scorer).__name__}, not an EnterpriseScorer")
    return scorer
