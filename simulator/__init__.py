"""Synthetic enterprise streams for an industrial park, with known injected anomalies.

:func:`simulate` yields :class:`SimulatedMessage` objects — the ``kind`` (input topic:
``registration``, ``tax`` or ``social_security``), the ``key`` (the USCC, UTF-8) and the
``value`` (JSON bytes exactly as a producer sends them) — in business-time order, streaming,
deterministically: the same :class:`SimulationConfig` gives byte-identical output.
Duplicates (same bytes, flagged ``duplicate``), amendments (same uscc/period/tax type, new
``event_id``), late filings (``overdue_days`` > 0) and malformed messages (flagged
``malformed`` with the defect's name) are mixed in at the configured rates.

:func:`ground_truth` returns the injected anomalies without producing events;
:func:`write_truth` stores them as JSON Lines, one object per anomaly::

    {"uscc": "91330110MA2H3K4L5F",          # the enterprise (message key)
     "anomaly_type": "layoff",              # see ANOMALY_TYPES
     "onset": "2026-07-01",                 # first business day the anomaly is in effect
     "onset_period": "2026-07",             # YYYY-MM of the onset
     "description": "Layoff (裁员): ...",   # human text
     "params": {"headcount_factor": 0.45, ...}}   # magnitudes and dates, per type

Monthly anomalies (zombie, layoff, tax_collapse, social_security_arrears,
payroll_tax_mismatch) start with the period ``onset_period`` (onset = its first day); the
VAT filing for that period arrives in the following month. Day-level anomalies (relocation,
legal_rep_churn, invoice_spike, invoice_drop, abnormal_operation) start on ``onset``.
See ``simulator/README.md`` for the calibration.
"""

from simulator.anomalies import (
    ANOMALY_TYPES,
    InjectedAnomaly,
    ground_truth,
    read_truth,
    write_truth,
)
from simulator.config import SimulationConfig, default_end_month
from simulator.confounders import Confounder, confounders
from simulator.engine import SimulatedMessage, simulate, write_jsonl
from simulator.malformed import DEFECTS

__all__ = [
    "ANOMALY_TYPES",
    "Confounder",
    "DEFECTS",
    "InjectedAnomaly",
    "SimulatedMessage",
    "SimulationConfig",
    "confounders",
    "default_end_month",
    "ground_truth",
    "read_truth",
    "simulate",
    "write_jsonl",
    "write_truth",
]
