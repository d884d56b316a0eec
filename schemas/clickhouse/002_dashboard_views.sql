-- Views the dashboards and BI tools read. They read the tables with FINAL, so they
-- show each enterprise, score and alert once even before background merges ran.

CREATE OR REPLACE VIEW {db}.v_tier_pyramid AS
SELECT tier, count() AS enterprises, round(avg(composite), 1) AS avg_composite
FROM {db}.enterprise_snapshot FINAL
WHERE status NOT IN ('deregistered', 'moved_out')
GROUP BY tier;

CREATE OR REPLACE VIEW {db}.v_alerts_daily AS
SELECT toDate(occurred_at) AS day, alert_type, district_code, severity, count() AS alerts
FROM {db}.alerts FINAL
GROUP BY day, alert_type, district_code, severity;

CREATE OR REPLACE VIEW {db}.v_industry_gradient AS
SELECT industry_section,
       count() AS enterprises,
       round(quantile(0.25)(composite), 1) AS p25,
       round(quantile(0.5)(composite), 1) AS median,
       round(quantile(0.75)(composite), 1) AS p75,
       round(avg(composite), 1) AS mean
FROM {db}.enterprise_snapshot FINAL
GROUP BY industry_section;

CREATE OR REPLACE VIEW {db}.v_district_summary AS
SELECT district_code,
       count() AS enterprises,
       countIf(in_park) AS in_park,
       sum(latest_revenue) AS latest_month_revenue,
       sum(latest_headcount) AS latest_headcount,
       sum(open_alerts) AS open_alerts
FROM {db}.enterprise_snapshot FINAL
GROUP BY district_code;

CREATE OR REPLACE VIEW {db}.v_source_freshness AS
SELECT kind, source, max(occurred_at) AS last_business_time, max(ingested_at) AS last_ingested_at,
       count() AS events
FROM {db}.events FINAL
GROUP BY kind, source;
