"""Ad-hoc SQL for ``entbrain query`` and ``/api/query``, made safe by ClickHouse itself.

No string matching decides what runs. Three steps, each done by the engine:

1. **Canonical text.** ``formatQuerySingleLine`` parses the SQL (passed as a bound
   parameter, so it is data, never code) and prints it back: comments are gone, more than
   one statement or an unclosed comment is a syntax error.
2. **Shape.** ``SELECT explain FROM (EXPLAIN AST <canonical>)``: ClickHouse accepts only a
   SELECT (``WITH``, ``UNION`` included) there, without ``FORMAT`` or ``INTO OUTFILE``.
   :func:`refusals` walks the AST and refuses any table function (the engine's own list,
   ``system.table_functions``: ``file``, ``url``, ``s3``, ``remote``, ``executable``,
   ``input``, ``mysql``, …, wherever it appears), any dictionary function (``dictGet`` …;
   dictionaries can read other hosts) and any ``SETTINGS`` clause.
3. **Limits.** The canonical text runs with ``max_result_rows``, ``max_result_bytes``,
   ``max_execution_time`` and, last, ``readonly=1``. On a ClickHouse server it runs as the
   ad-hoc user (``ENTBRAIN_CLICKHOUSE__QUERY_USERNAME``) whose profile and grants in
   ``dashboards/clickhouse-users.xml`` allow reading the entbrain database only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from clickhouse_connect.driver.exceptions import ClickHouseError

from config import ClickHouseSettings
from sinks import Database
from streams.errors import QueryFailed, QueryRejected

ALLOWED_ROOT = "SelectWithUnionQuery"
SCALAR_TABLE_FUNCTIONS = frozenset({"format"})  # also a string function; harmless outside FROM
IN_FUNCTIONS = frozenset({"in", "notIn", "globalIn", "globalNotIn", "nullIn", "notNullIn",
                          "globalNullIn", "globalNotNullIn"})  # fmt: skip
MAX_SQL_CHARS = 100_000


@dataclass(frozen=True)
class AstNode:
    """One line of ``EXPLAIN AST``: depth, kind (``Function``), name (``file``), parent index."""

    depth: int
    kind: str
    name: str
    parent: int | None


def parse_ast(lines: list[str]) -> list[AstNode]:
    """The indented text of ``EXPLAIN AST`` as nodes with their parents."""
    nodes: list[AstNode] = []
    stack: list[int] = []  # indices of the open ancestors
    for line in lines:
        text = line.rstrip()
        if not text.strip():
            continue
        depth = len(text) - len(text.lstrip(" "))
        words = text.split()
        kind = words[0]
        name = words[1] if len(words) > 1 and not words[1].startswith("(") else ""
        while stack and nodes[stack[-1]].depth >= depth:
            stack.pop()
        nodes.append(AstNode(depth, kind, name, stack[-1] if stack else None))
        stack.append(len(nodes) - 1)
    return nodes


def refusals(nodes: list[AstNode], table_functions: frozenset[str]) -> list[str]:
    """Why this query may not run (empty when it may)."""
    if not nodes or nodes[0].kind != ALLOWED_ROOT:
        return ["only a SELECT query is allowed"]
    reasons: list[str] = []
    for node in nodes:
        parent = nodes[node.parent] if node.parent is not None else None
        if node.kind == "Set":
            reasons.append("a SETTINGS clause is not allowed")
        elif node.kind == "Function" and node.name.lower().startswith("dict"):
            reasons.append(f"dictionary function {node.name}() is not allowed")
        elif node.kind == "Function" and parent is not None and parent.kind == "TableExpression":
            reasons.append(f"table function {node.name}() is not allowed")
        elif node.kind == "Function" and node.name in table_functions:
            grand = nodes[parent.parent] if parent is not None and parent.parent is not None else None
            in_argument = grand is not None and grand.kind == "Function" and grand.name in IN_FUNCTIONS
            if node.name not in SCALAR_TABLE_FUNCTIONS or in_argument:
                reasons.append(f"table function {node.name}() is not allowed")
    return list(dict.fromkeys(reasons))


def limits(settings: ClickHouseSettings) -> dict[str, Any]:
    """Per-query settings of ad-hoc SQL; ``readonly`` last (it forbids changing the others)."""
    out: dict[str, Any] = {
        "max_result_rows": settings.query_max_rows,
        "max_result_bytes": settings.query_max_bytes,
        "result_overflow_mode": "throw",
        "max_execution_time": settings.query_max_seconds,
    }
    if settings.embedded:  # a server's ad-hoc user is read-only by its profile
        out["readonly"] = 1
    return out


def _engine_message(exc: BaseException) -> str:
    """The engine's reason in one line, without the echoed query (it carries our settings)."""
    text = " ".join(str(exc).split())
    return text.split(" In scope ")[0][:500]


def check_query(db: Database, sql: str, parameters: dict[str, Any] | None = None) -> str:
    """The canonical text of ``sql`` if it may run; :class:`QueryRejected` if not."""
    if not sql.strip():
        raise QueryRejected("empty SQL")
    if len(sql) > MAX_SQL_CHARS:
        raise QueryRejected(f"SQL over {MAX_SQL_CHARS} characters")
    try:
        _, rows = db.query("SELECT formatQuerySingleLine({sql:String})", {"sql": sql})
    except ClickHouseError as exc:
        raise QueryRejected(f"not one valid SQL statement: {_engine_message(exc)}") from None
    canonical = str(rows[0][0])
    try:
        _, ast_rows = db.query(f"SELECT explain FROM (EXPLAIN AST {canonical})", parameters or None)
        _, names = db.query("SELECT name FROM system.table_functions")
    except ClickHouseError as exc:
        message = _engine_message(exc)
        if "BAD_ARGUMENTS" in message or "UNKNOWN_QUERY_PARAMETER" in message:
            raise QueryRejected(f"only a single SELECT query is allowed ({message})") from None
        raise QueryRejected(f"not a valid query: {message}") from None
    reasons = refusals(parse_ast([str(r[0]) for r in ast_rows]), frozenset(str(n[0]) for n in names))
    if reasons:
        raise QueryRejected("; ".join(reasons))
    return canonical


def check_parameters(parameters: Any) -> dict[str, Any]:
    """Query parameters (``{name:Type}`` in the SQL) as sent: names to strings or numbers."""
    if parameters is None:
        return {}
    if not isinstance(parameters, dict) or not all(
        isinstance(k, str) and k.isidentifier() and isinstance(v, str | int | float) and not isinstance(v, bool)
        for k, v in parameters.items()
    ):
        raise QueryRejected("parameters must map names to strings or numbers")
    return dict(parameters)


def run_query(
    db: Database, sql: str, parameters: dict[str, Any] | None = None
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Columns and rows of an ad-hoc query that passed :func:`check_query`, within the limits.

    Values go in ``parameters`` and are bound by ClickHouse (``{uscc:String}`` in the SQL).
    """
    bound = check_parameters(parameters)
    canonical = check_query(db, sql, bound)
    try:
        return db.query(canonical, bound or None, settings=limits(db.settings))
    except ClickHouseError as exc:
        raise QueryFailed(_engine_message(exc)) from None
