-- Who did what to the stream and when: every replay, rebuild and backtest (dry runs and
-- refusals included), with its arguments, the offsets or time range it touched and the
-- configuration versions in force. Rows are never updated; audit_id makes a retried
-- write collapse.

CREATE TABLE IF NOT EXISTS {db}.audit_log
(
    audit_id        String,
    at              DateTime64(3, 'UTC'),
    actor           String,
    actor_kind      LowCardinality(String),
    host            String,
    operation       LowCardinality(String),
    outcome         LowCardinality(String),
    arguments       String,
    target_range    String,
    app_id          String,
    rules_version   LowCardinality(String),
    scoring_version LowCardinality(String),
    detail          String
)
ENGINE = ReplacingMergeTree
ORDER BY (at, audit_id);
