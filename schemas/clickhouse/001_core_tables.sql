-- Core tables. `{db}` is replaced by the configured database.
-- Types: LowCardinality for codes and enums; Decimal(18, 2) for CNY; business times are
-- DateTime64(3, 'Asia/Shanghai'); system times (ingested_at, received_at) are UTC.
-- Every table is a ReplacingMergeTree keyed by the identity of what it stores, so a
-- replayed range or a restarted worker writes the same rows again and FINAL (or a merge)
-- collapses them: results are exactly-once in effect.

CREATE TABLE IF NOT EXISTS {db}.events
(
    event_id       String,
    uscc           String,
    kind           LowCardinality(String),
    record         LowCardinality(String),
    occurred_at    DateTime64(3, 'Asia/Shanghai'),
    business_month Date,
    source         LowCardinality(String),
    schema_version UInt8,
    topic          LowCardinality(String),
    partition      UInt16,
    offset         UInt64,
    payload        String CODEC(ZSTD(3)),
    ingested_at    DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(business_month)
ORDER BY (kind, uscc, event_id);

CREATE TABLE IF NOT EXISTS {db}.dead_letters
(
    topic        LowCardinality(String),
    partition    UInt16,
    offset       UInt64,
    key          Nullable(String),
    original     String CODEC(ZSTD(3)),
    reason       String,
    reasons      String,
    error_type   LowCardinality(String),
    received_at  DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree
ORDER BY (topic, partition, offset);

CREATE TABLE IF NOT EXISTS {db}.enterprise_snapshot
(
    uscc              String,
    name              String,
    district_code     LowCardinality(String),
    in_park           Nullable(Bool),
    industry_code     LowCardinality(String),
    industry_section  LowCardinality(String),
    status            LowCardinality(String),
    latest_revenue    Nullable(Decimal(18, 2)),
    latest_headcount  Nullable(UInt32),
    registration_events UInt32,
    tax_events        UInt32,
    social_security_events UInt32,
    composite         Float32,
    tier              LowCardinality(String),
    scale             Float32,
    development       Float32,
    profitability     Float32,
    financing         Float32,
    innovation        Float32,
    open_alerts       UInt16,
    state_version     UInt64,
    updated_at        DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(state_version)
ORDER BY uscc;

CREATE TABLE IF NOT EXISTS {db}.scores
(
    uscc           String,
    state_version  UInt64,
    scored_at      DateTime64(3, 'UTC'),
    scale          Float32,
    development    Float32,
    profitability  Float32,
    financing      Float32,
    innovation     Float32,
    composite      Float32,
    tier           LowCardinality(String),
    model_version  LowCardinality(String),
    config_version LowCardinality(String),
    contributions  String
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(scored_at)
ORDER BY (uscc, state_version);

CREATE TABLE IF NOT EXISTS {db}.alerts
(
    alert_id       String,
    uscc           String,
    alert_type     LowCardinality(String),
    state          LowCardinality(String),
    severity       LowCardinality(String),
    title_zh       String,
    title_en       String,
    explanation_zh String,
    explanation_en String,
    evidence       String,
    event_ids      Array(String),
    rule           LowCardinality(String),
    config_version LowCardinality(String),
    district_code  LowCardinality(String),
    occurred_at    DateTime64(3, 'Asia/Shanghai'),
    emitted_at     DateTime64(3, 'UTC'),
    version        UInt32
)
ENGINE = ReplacingMergeTree(version)
ORDER BY alert_id;

CREATE TABLE IF NOT EXISTS {db}.alert_events AS {db}.alerts
ENGINE = ReplacingMergeTree
ORDER BY (alert_id, version);
