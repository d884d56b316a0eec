"""Everything the worker learns online, as one picklable object, and its checkpoints.

:class:`OnlineModels` holds the five-dimension scorer (peer statistics, forecasters, exit
risk), the streaming detectors over invoice series with their alert budget, the peer
divergence detector and the industries' monthly levels. The worker saves it with
:func:`save_models` after committed batches; a restarted worker loads it and continues
instead of relearning from zero.

Consistency: a checkpoint is the models as they were after some batch. Events applied
after it and before a crash are, on redelivery, duplicates for the enterprise state and are
not learned again; the models miss them until those enterprises send their next event.
"""

from __future__ import annotations

import pickle  # noqa: S403 (our own checkpoints only)
from dataclasses import dataclass, field
from pathlib import Path

from config.scoring import load_scoring_config
from detectors.errors import DetectorError
from detectors.industry_context import IndustryPeriods
from detectors.peer_divergence import PeerDivergence
from detectors.scoring import EnterpriseScorer
from detectors.scoring.checkpoint import write_atomically
from detectors.series_bank import SeriesDetectorBank


class ModelCheckpointError(DetectorError):
    """A models checkpoint is unreadable or of another kind; delete it to start fresh."""


@dataclass
class OnlineModels:
    scorer: EnterpriseScorer = field(default_factory=lambda: EnterpriseScorer(load_scoring_config()))
    series: SeriesDetectorBank = field(default_factory=SeriesDetectorBank)
    peers: PeerDivergence = field(default_factory=PeerDivergence)
    industry: IndustryPeriods = field(default_factory=IndustryPeriods)
    # How far the scorer has learned from the group's model feed (streams.model_feed): the
    # next offset to read; None before anything was read.
    feed_offset: int | None = None


def dump_models(models: OnlineModels) -> bytes:
    return pickle.dumps(models, protocol=pickle.HIGHEST_PROTOCOL)


def save_models(models: OnlineModels | bytes, path: Path) -> int:
    """Write ``models`` (or their :func:`dump_models` bytes) atomically: temp file, fsync,
    rename, so a crash leaves the old or the new checkpoint, never a torn one."""
    payload = models if isinstance(models, bytes) else dump_models(models)
    return write_atomically(payload, path)


def load_models(path: Path) -> OnlineModels:
    """The checkpoint at ``path``, or fresh models when there is none."""
    if not path.exists():
        return OnlineModels()
    try:
        with path.open("rb") as handle:
            models = pickle.load(handle)  # noqa: S301
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError) as exc:
        raise ModelCheckpointError(f"cannot load models checkpoint {path}: {exc}; delete it to start fresh") from exc
    if not isinstance(models, OnlineModels):
        raise ModelCheckpointError(f"{path} holds a {type(models).__name__}, not OnlineModels")
    if "industry" not in vars(models):  # a checkpoint from before the industry levels: learn them anew
        models.industry = IndustryPeriods()
    if "feed_offset" not in vars(models):  # from before the model feed: read it from the beginning
        models.feed_offset = None
    return models
