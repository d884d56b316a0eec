"""Ad-hoc SQL against the real ClickHouse engine: refused by the engine's parser, limited by its settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from config import ClickHouseSettings
from sinks import Database, migrate
from streams.errors import QueryFailed, QueryRejected
from streams.queries import limits, parse_ast, refusals, run_query

# Each must be refused before it runs (QueryRejected), whatever the engine would do with it.
REFUSED = {
    "file": "SELECT * FROM file('/etc/passwd', 'LineAsString')",
    "file scalar": "SELECT file('/etc/passwd')",
    "url": "SELECT * FROM url('http://127.0.0.1:9/x', CSV, 'a String')",
    "remote": "SELECT * FROM remote('127.0.0.1:9000', system.one)",
    "remoteSecure": "SELECT * FROM remoteSecure('127.0.0.1:9440', system.one)",
    "executable": "SELECT * FROM executable('cat /etc/passwd', TSV, 'line String')",
    "s3": "SELECT * FROM s3('http://127.0.0.1:9/bucket/x.csv', CSV)",
    "input": "SELECT * FROM input('a Int32')",
    "mysql": "SELECT * FROM mysql('h:3306', 'db', 't', 'u', 'p')",
    "postgresql": "SELECT * FROM postgresql('h:5432', 'db', 't', 'u', 'p')",
    "hdfs": "SELECT * FROM hdfs('hdfs://h:9000/x', CSV, 'a Int')",
    "jdbc": "SELECT * FROM jdbc('ds', 'db', 't')",
    "odbc": "SELECT * FROM odbc('DSN=x', 'db', 't')",
    "cluster": "SELECT * FROM cluster('c', system.one)",
    "azure": "SELECT * FROM azureBlobStorage('DefaultEndpointsProtocol=https', 'c', 'b')",
    "numbers": "SELECT * FROM numbers(10)",
    "dictGet": "SELECT dictGet('d', 'a', toUInt64(1))",
    "multi-statement": "SELECT 1; SELECT 2",
    "trailing statement": "SELECT 1; DROP TABLE events",
    "insert": "INSERT INTO events (event_id) VALUES ('x')",
    "drop": "DROP TABLE events",
    "set": "SET readonly = 0",
    "settings clause": "SELECT 1 SETTINGS readonly = 0",
    "system": "SYSTEM FLUSH LOGS",
    "attach": "ATTACH TABLE leak FROM '/etc' (line String)",
    "create": "CREATE TABLE x (a Int32) ENGINE = File(TSV, '/tmp/x')",
    "truncate": "TRUNCATE TABLE events",
    "into outfile": "SELECT 1 INTO OUTFILE '/tmp/entbrain-leak'",
    "format clause": "SELECT 1 FORMAT JSON",
    "unclosed comment": "SELECT 1 /*",
    "comment hides a statement": "SELECT 1 /* */; DROP TABLE events -- ",
    "comment then table function": "SELECT * FROM /* hi */ file('/etc/passwd', 'LineAsString') -- bye",
    "nested subquery": "SELECT * FROM (SELECT * FROM (SELECT * FROM file('/etc/passwd', 'LineAsString')))",
    "cte": "WITH x AS (SELECT * FROM url('http://127.0.0.1:9/', CSV, 'a String')) SELECT * FROM x",
    "in table function": "SELECT 1 WHERE 1 IN (SELECT * FROM s3('http://x/y', CSV, 'a Int'))",
    "global in": "SELECT 1 WHERE 1 GLOBAL IN remote('h', system.one)",
    "union": "SELECT 1 UNION ALL SELECT * FROM file('/etc/hostname', 'LineAsString')",
    "join": "SELECT * FROM events AS e JOIN url('http://x', CSV, 'a String') AS u ON 1",
    "explain": "EXPLAIN SELECT * FROM file('/etc/passwd', 'LineAsString')",
    "empty": "   ",
}


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Database:
    database = Database(ClickHouseSettings(url=f"chdb://{tmp_path_factory.mktemp('ch')}", query_max_rows=50))
    migrate(database)
    database.command("INSERT INTO alerts (alert_id, uscc, alert_type, state, severity, version) "
                     "SELECT toString(number), '91330110MA2B3C4D5E', 'layoff', 'firing', 'warning', 1 "
                     "FROM system.numbers LIMIT 60")  # fmt: skip
    return database


@pytest.mark.parametrize("sql", list(REFUSED.values()), ids=list(REFUSED))
def test_refused_before_running(db: Database, sql: str) -> None:
    with pytest.raises(QueryRejected):
        run_query(db, sql)


def test_the_database_is_intact_after_the_attempts(db: Database) -> None:
    assert run_query(db, "SELECT count() FROM alerts") == (["count()"], [(60,)])
    assert not Path("/tmp/entbrain-leak").exists()


def test_select_over_tables_views_and_ctes_runs(db: Database) -> None:
    assert run_query(db, "SELECT alert_type, count() AS n FROM alerts FINAL GROUP BY alert_type") == (
        ["alert_type", "n"], [("layoff", 60)]
    )
    assert run_query(db, "SELECT alert_type, sum(alerts) FROM v_alerts_daily GROUP BY alert_type")[1] == [("layoff", 60)]
    assert run_query(db, "WITH 2 AS x SELECT x * 3 -- a comment\n")[1] == [(6,)]
    assert run_query(db, "SELECT 1 /* ; DROP TABLE alerts */ UNION ALL SELECT 2")[1] in ([(1,), (2,)], [(2,), (1,)])
    assert run_query(db, "SELECT format('{}-{}', 'a', 'b'), name FROM system.one AS o, (SELECT 'n' AS name) AS s")[1] == [
        ("a-b", "n")
    ]


def test_values_go_in_as_bound_parameters(db: Database) -> None:
    sql = "SELECT count() FROM alerts WHERE uscc = {uscc:String}"
    assert run_query(db, sql, {"uscc": "91330110MA2B3C4D5E"})[1] == [(60,)]
    assert run_query(db, sql, {"uscc": "x' OR 1=1 --"})[1] == [(0,)]
    with pytest.raises(QueryRejected):
        run_query(db, sql)  # the parameter is missing
    with pytest.raises(QueryRejected):
        run_query(db, sql, {"uscc": ["not", "a", "scalar"]})


def test_result_limits_are_the_engines(db: Database) -> None:
    with pytest.raises(QueryFailed, match="TOO_MANY_ROWS"):
        run_query(db, "SELECT * FROM alerts")  # 60 rows > query_max_rows=50
    assert limits(db.settings)["readonly"] == 1 and list(limits(db.settings))[-1] == "readonly"


def test_bad_sql_is_a_query_error_not_a_crash(db: Database) -> None:
    with pytest.raises(QueryFailed, match="nosuch"):
        run_query(db, "SELECT * FROM nosuch")
    with pytest.raises(QueryRejected):
        run_query(db, "SELEC 1")


def test_refusals_walks_the_tree() -> None:
    tree = [
        "SelectWithUnionQuery (children 1)",
        " ExpressionList (children 1)",
        "  SelectQuery (children 2)",
        "   ExpressionList (children 1)",
        "    Function format (children 1)",
        "   TablesInSelectQuery (children 1)",
        "    TablesInSelectQueryElement (children 1)",
        "     TableExpression (children 1)",
        "      Function generateRandom (alias g) (children 1)",
    ]
    nodes = parse_ast(tree)
    assert nodes[8].kind == "Function" and nodes[8].name == "generateRandom" and nodes[nodes[8].parent].kind == "TableExpression"  # type: ignore[index]
    assert refusals(nodes, frozenset({"format", "generateRandom"})) == ["table function generateRandom() is not allowed"]
    assert refusals(parse_ast(tree[:5]), frozenset({"format"})) == []
    assert refusals(parse_ast(["InsertQuery (children 1)"]), frozenset()) == ["only a SELECT query is allowed"]
