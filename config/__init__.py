"""Settings of entbrain.

One frozen :class:`Settings` object, read from ``ENTBRAIN_*`` environment variables
(nested sections with ``__``, e.g. ``ENTBRAIN_KAFKA__BOOTSTRAP_SERVERS``). It is built
once at an entry point and passed down; nothing else reads the environment.
"""

from config.scoring import (
    DEFAULT_SCORING_PATH,
    DIMENSIONS,
    Condition,
    Criterion,
    ScoringConfig,
    SizeBand,
    load_scoring_config,
)
from config.settings import (
    REPO_ROOT,
    AuthSettings,
    ClickHouseSettings,
    KafkaSettings,
    LogSettings,
    NotifierSettings,
    Role,
    Settings,
    SinkSettings,
    TopicNames,
    WebSettings,
    WorkerSettings,
)

__all__ = [
    "AuthSettings",
    "ClickHouseSettings",
    "Condition",
    "Criterion",
    "DEFAULT_SCORING_PATH",
    "DIMENSIONS",
    "KafkaSettings",
    "LogSettings",
    "NotifierSettings",
    "REPO_ROOT",
    "Role",
    "ScoringConfig",
    "Settings",
    "SinkSettings",
    "SizeBand",
    "TopicNames",
    "WebSettings",
    "WorkerSettings",
    "load_scoring_config",
]
