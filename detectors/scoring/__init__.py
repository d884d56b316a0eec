"""Five-dimension scoring against peers, tiers, identification lists, forecasts, exit risk.

Contract: :class:`EnterpriseScorer` ``.score_one(state, at)`` scores one enterprise with the
current peer statistics and models, writes the summary into ``state.scores`` and then
learns from it; :func:`list_changes` turns the lists before/after into enter/leave events;
:func:`save_checkpoint` / :func:`load_checkpoint` persist the scorer (a pickle). Pure: no
Kafka, no ClickHouse, no Faust. :mod:`detectors.scoring.oracle` is the exact batch
evaluation used by tests and the benchmark.
"""

from detectors.scoring.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from detectors.scoring.exit_risk import EXIT_STATUSES, ExitRiskModel
from detectors.scoring.forecast import SeriesForecaster
from detectors.scoring.peers import PeerDistribution, PeerIndex
from detectors.scoring.scorer import MODEL_VERSION, EnterpriseScorer, is_holdout, list_changes

__all__ = [
    "CheckpointError",
    "EXIT_STATUSES",
    "EnterpriseScorer",
    "ExitRiskModel",
    "MODEL_VERSION",
    "PeerDistribution",
    "PeerIndex",
    "SeriesForecaster",
    "is_holdout",
    "list_changes",
    "load_checkpoint",
    "save_checkpoint",
]
