-- One library (一库聚合): the identity table, events parked for want of an identity, and
-- cross-source data-quality findings, with the views the data-quality panel reads.

ALTER TABLE {db}.events ADD COLUMN IF NOT EXISTS identified_by LowCardinality(String) DEFAULT '';

-- field → {set_by, claims: {source: [value, event_id, business date]}} (JSON)
ALTER TABLE {db}.enterprise_snapshot ADD COLUMN IF NOT EXISTS provenance String DEFAULT '';

-- identifier (scheme:value, routing form) → USCC; the latest fact per identifier wins
CREATE TABLE IF NOT EXISTS {db}.identities
(
    identifier  String,
    scheme      LowCardinality(String),
    value       String,
    uscc        String,
    origin      LowCardinality(String),
    source      LowCardinality(String),
    event_id    String,
    learned_at  DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(learned_at)
ORDER BY identifier;

-- version 1: parked; version 2: released (applied under `uscc`)
CREATE TABLE IF NOT EXISTS {db}.unmatched_events
(
    identifier    String,
    named         String,
    event_id      String,
    origin        String,
    topic         LowCardinality(String),
    kind          LowCardinality(String),
    source        LowCardinality(String),
    occurred_at   DateTime64(3, 'Asia/Shanghai'),
    reason        LowCardinality(String),
    parked_at     DateTime64(3, 'UTC'),
    status        LowCardinality(String),
    uscc          String,
    released_at   Nullable(DateTime64(3, 'UTC')),
    delay_seconds Float64,
    version       UInt8,
    payload       String CODEC(ZSTD(3))
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (identifier, event_id, origin);

CREATE TABLE IF NOT EXISTS {db}.data_quality_findings
(
    finding_id     String,
    uscc           String,
    check          LowCardinality(String),
    severity       LowCardinality(String),
    subject        String,
    sources        Array(String),
    event_ids      Array(String),
    evidence       String,
    explanation_zh String,
    explanation_en String,
    occurred_at    DateTime64(3, 'Asia/Shanghai'),
    detected_at    DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree
ORDER BY finding_id;

CREATE OR REPLACE VIEW {db}.v_data_quality AS
SELECT check, severity, count() AS findings, uniqExact(uscc) AS enterprises,
       max(occurred_at) AS latest_business_time
FROM {db}.data_quality_findings FINAL
GROUP BY check, severity;

-- match rate per source: events applied (those named by a legacy identifier among them)
-- against events still parked
CREATE OR REPLACE VIEW {db}.v_match_rate AS
SELECT source,
       sum(n_applied) AS applied,
       sum(n_legacy) AS legacy_resolved,
       sum(n_parked) AS parked,
       round(if(applied + parked = 0, 1, applied / (applied + parked)), 4) AS match_rate,
       round(if(legacy_resolved + parked = 0, 1, legacy_resolved / (legacy_resolved + parked)), 4) AS legacy_match_rate
FROM
(
    SELECT source, count() AS n_applied, countIf(identified_by != '') AS n_legacy, toUInt64(0) AS n_parked
    FROM {db}.events FINAL GROUP BY source
    UNION ALL
    SELECT source, toUInt64(0), toUInt64(0), count()
    FROM {db}.unmatched_events FINAL WHERE status = 'parked' GROUP BY source
)
GROUP BY source;

-- parked events by source and age
CREATE OR REPLACE VIEW {db}.v_unmatched AS
SELECT source, kind, reason,
       count() AS parked,
       min(parked_at) AS oldest_parked_at,
       countIf(parked_at >= now() - INTERVAL 1 HOUR) AS under_1h,
       countIf(parked_at < now() - INTERVAL 1 HOUR AND parked_at >= now() - INTERVAL 1 DAY) AS under_1d,
       countIf(parked_at < now() - INTERVAL 1 DAY) AS older
FROM {db}.unmatched_events FINAL
WHERE status = 'parked'
GROUP BY source, kind, reason;
