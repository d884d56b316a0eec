-- Alert delivery: subscriptions and silences (mirrors of their compacted topics), every
-- delivery attempt, notifications dead-lettered after the retry budget, and what people
-- did with an alert (acknowledge, assign, verdict), with the views built on them.

CREATE TABLE IF NOT EXISTS {db}.subscriptions
(
    id             String,
    name           String,
    owner          String,
    channel        LowCardinality(String),
    language       LowCardinality(String),
    enabled        Bool,
    definition     String,      -- the subscription as JSON, secret masked
    deleted        Bool,
    changed_at     DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(changed_at)
ORDER BY id;

CREATE TABLE IF NOT EXISTS {db}.silences
(
    id             String,
    definition     String,
    author         String,
    reason         String,
    starts_at      DateTime64(3, 'UTC'),
    ends_at        DateTime64(3, 'UTC'),
    changed_at     DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(changed_at)
ORDER BY id;

CREATE TABLE IF NOT EXISTS {db}.notifications
(
    subscription_id String,
    alert_id        String,
    version         UInt32,
    attempt         UInt16,
    status          LowCardinality(String),   -- delivered | retry | failed | silenced | dead_lettered
    http_status     UInt16,
    latency_ms      Float32,
    error           String,
    channel         LowCardinality(String),
    attempted_at    DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree
ORDER BY (subscription_id, alert_id, version, attempted_at, attempt, status);

CREATE TABLE IF NOT EXISTS {db}.notification_dead_letters
(
    idempotency_key String,
    subscription_id String,
    alert_id        String,
    version         UInt32,
    channel         LowCardinality(String),
    attempts        UInt16,
    last_error      String,
    notification    String,
    dead_lettered_at DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(dead_lettered_at)
ORDER BY idempotency_key;

CREATE TABLE IF NOT EXISTS {db}.alert_actions
(
    alert_id       String,
    action         LowCardinality(String),   -- ack | assign | verdict
    actor          String,
    assignee       String,
    verdict        LowCardinality(String),   -- confirmed | false_alarm
    comment        String,
    acted_at       DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree
ORDER BY (alert_id, action, acted_at);

-- Per rule: the latest verdict of each alert, and the share confirmed.
CREATE OR REPLACE VIEW {db}.v_rule_precision AS
SELECT a.rule AS rule, a.alert_type AS alert_type,
       countIf(v.verdict = 'confirmed') AS confirmed,
       countIf(v.verdict = 'false_alarm') AS false_alarms,
       if(confirmed + false_alarms = 0, NULL, confirmed / (confirmed + false_alarms)) AS precision
FROM (SELECT alert_id, argMax(verdict, acted_at) AS verdict
      FROM {db}.alert_actions FINAL WHERE action = 'verdict' GROUP BY alert_id) AS v
INNER JOIN (SELECT alert_id, rule, alert_type FROM {db}.alerts FINAL) AS a ON a.alert_id = v.alert_id
GROUP BY rule, alert_type;

-- Per alert: first firing seen and first acknowledgement.
CREATE OR REPLACE VIEW {db}.v_time_to_ack AS
SELECT e.alert_id AS alert_id, e.alert_type AS alert_type, e.severity AS severity,
       e.first_emitted AS first_emitted, k.first_ack AS first_ack,
       dateDiff('second', e.first_emitted, k.first_ack) AS seconds_to_ack
FROM (SELECT alert_id, any(alert_type) AS alert_type, any(severity) AS severity, min(emitted_at) AS first_emitted
      FROM {db}.alert_events FINAL GROUP BY alert_id) AS e
INNER JOIN (SELECT alert_id, min(acted_at) AS first_ack FROM {db}.alert_actions FINAL
            WHERE action = 'ack' GROUP BY alert_id) AS k ON k.alert_id = e.alert_id;
