"""Where the worker's time goes: py-spy's sampled stacks summed by component.

Pure functions over py-spy's ``--format raw`` output (one line per distinct stack,
``frame;frame;…;frame count``, root first; a frame is ``function (path:line)``). A sample
belongs to the component of the innermost frame that names one: a pydantic or orjson call
counts for the entbrain code that made it (decode, state, …), an aiokafka send for the
producer, everything else of Faust, mode, aiokafka and asyncio for Faust's own machinery.

>>> stacks = ["run (faust/agents/agent.py:1);process_message (streams/pipeline.py:9);"
...           "decode_event (schemas/decode.py:3);loads (orjson:1) 3",
...           "run (faust/agents/agent.py:1);_poll (aiokafka/consumer/fetcher.py:5) 1"]
>>> summarize(stacks)
{'decode': 3, 'faust': 1}
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

COMPONENTS: tuple[str, ...] = (
    "faust", "decode", "state", "rules", "detectors", "scoring", "sink", "producer", "checkpoint", "batch",
    "other",
)  # fmt: skip

# (path fragment, component), most specific first; the first fragment found in a frame wins.
_PATHS: tuple[tuple[str, str], ...] = (
    ("schemas/decode.py", "decode"),
    ("schemas/events.py", "decode"),
    ("schemas/codes.py", "decode"),
    ("streams/state_update.py", "state"),
    ("detectors/rules.py", "rules"),
    ("detectors/alerting.py", "rules"),
    ("detectors/models.py", "checkpoint"),  # the online models pickled in the commit's step 3
    ("detectors/scoring/checkpoint.py", "checkpoint"),
    ("detectors/scoring/", "scoring"),
    ("detectors/", "detectors"),
    ("sinks/", "sink"),
    ("clickhouse_connect/", "sink"),
    ("chdb/", "sink"),
    ("streams/batch.py", "batch"),  # the batch loop: state decode/encode once per enterprise, outputs
    ("streams/pipeline.py", "batch"),
    ("aiokafka/producer/", "producer"),
    ("faust/transport/producer", "producer"),
    ("faust/tables/", "producer"),  # table writes become changelog messages
    ("faust/", "faust"),
    ("mode/", "faust"),
    ("aiokafka/", "faust"),
    ("asyncio/", "faust"),
)


def component(stack: str) -> str:
    """The component of one ``;``-joined stack (root first)."""
    for frame in reversed(stack.split(";")):
        for fragment, name in _PATHS:
            if fragment in frame:
                return name
    return "other"


def summarize(lines: Iterable[str]) -> dict[str, int]:
    """Samples per component, most first, from py-spy raw lines."""
    totals: Counter[str] = Counter()
    for line in lines:
        stack, _, count = line.rstrip("\n").rpartition(" ")
        if stack and count.isdigit():
            totals[component(stack)] += int(count)
    return dict(totals.most_common())


def shares(totals: dict[str, int]) -> dict[str, float]:
    """Each component's share of the samples (0–1)."""
    whole = sum(totals.values()) or 1
    return {name: round(count / whole, 3) for name, count in totals.items()}
