"""Versions derived from a configuration's content.

A rules or scoring file is named by what it says, not by a label someone must remember to
change: ``<prefix>-<first 10 hex digits of the SHA-256 of the canonical dump>``. The
canonical dump is the validated model as JSON with sorted keys and no whitespace, so
comments, key order and number spelling in the YAML do not change the version; a changed
threshold always does.

>>> content_version("rules", {"b": 1, "a": [1.0, 2]})
'rules-bb1e5855a7'
"""

from __future__ import annotations

import hashlib
import json
from typing import Any


def canonical_dump(content: Any) -> bytes:
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def content_version(prefix: str, content: Any) -> str:
    return f"{prefix}-{hashlib.sha256(canonical_dump(content)).hexdigest()[:10]}"
