// entbrain one-screen dashboard. No build step: plain ES2020 in the browser, Plotly from
// /static/vendor/plotly.min.js. Panels poll /api/dashboard/* every few seconds; the alert
// feed also listens to /api/alerts/stream (server-sent events; the browser resumes with
// Last-Event-ID by itself after a dropped connection).
"use strict";

(() => {
  const REFRESH_MS = 5000;
  const MAX_FEED = 60;
  const TZ = "Asia/Shanghai";

  // ---- labels (zh-CN first, English second) ---------------------------------------------
  const TIERS = [
    ["leader", "领军企业", "Leader", "#f5c451"],
    ["high_growth", "高成长企业", "High growth", "#38d39f"],
    ["growth", "成长企业", "Growth", "#3fb6ff"],
    ["base", "基础企业", "Base", "#5b7fb8"],
    ["at_risk", "风险企业", "At risk", "#ff5d6c"],
    ["", "待评分", "Unscored", "#4a5a75"],
  ];
  // Alert types and severities come from the one catalogue on the server (/api/alert-types),
  // filled in before the first refresh: type -> [zh, en] and the display order.
  const ALERT_TYPES = {};
  const SEVERITY = {};
  const TYPE_ORDER = [];
  const STATES = { firing: ["触发", "Firing"], updated: ["更新", "Updated"], resolved: ["解除", "Resolved"] };
  const STATUS = {
    active: ["存续", "Active"], abnormal_operation: ["经营异常", "Abnormal operation"],
    revoked: ["吊销", "Revoked"], deregistered: ["注销", "Deregistered"], moved_out: ["迁出", "Moved out"],
  };
  const SECTIONS = {
    A: "农林牧渔", B: "采矿", C: "制造", D: "电热燃水", E: "建筑", F: "批发零售", G: "交通物流",
    H: "住宿餐饮", I: "信息技术", J: "金融", K: "房地产", L: "租赁商务", M: "科研技术", N: "水利环境",
    O: "居民服务", P: "教育", Q: "卫生社工", R: "文体娱乐", S: "公共管理", T: "国际组织",
  };
  const DISTRICTS = {
    "330102": "上城区", "330105": "拱墅区", "330106": "西湖区", "330108": "滨江区", "330109": "萧山区",
    "330110": "余杭区", "330111": "富阳区", "330112": "临安区", "330113": "临平区", "330114": "钱塘区",
    "310115": "浦东新区", "330212": "鄞州区", "320505": "虎丘区",
  };
  const KINDS = { registration: ["工商", "Registration"], tax: ["税务", "Tax"], social_security: ["社保", "Social security"] };
  const DIMENSIONS = [
    ["scale", "规模", "Scale"], ["development", "发展", "Development"], ["profitability", "盈利", "Profitability"],
    ["financing", "融资", "Financing"], ["innovation", "创新", "Innovation"],
  ];
  const NO_DATA = "暂无数据 No data";

  const bi = (pair, fallback) => (pair ? `${pair[0]} ${pair[1]}` : fallback || "—");
  const zh = (pair, fallback) => (pair ? pair[0] : fallback || "—");
  const tierOf = (key) => TIERS.find((t) => t[0] === (key || "")) || [key, key, key, "#5b7fb8"];
  const sectionLabel = (s) => (s ? `${s} ${SECTIONS[s] || ""}`.trim() : "未分类");
  const districtLabel = (c) => (c ? DISTRICTS[c] || c : "—");

  // ---- formatting --------------------------------------------------------------------------
  const num = (v) => (v === null || v === undefined || v === "" ? null : Number(v));
  const fmtInt = (v) => (num(v) === null ? "0" : Math.round(num(v)).toLocaleString("zh-CN"));
  function fmtMoney(v) {
    const n = num(v);
    if (n === null || Number.isNaN(n)) return "—";
    if (Math.abs(n) >= 1e8) return `${(n / 1e8).toFixed(2)}亿`;
    if (Math.abs(n) >= 1e4) return `${(n / 1e4).toFixed(1)}万`;
    return n.toFixed(0);
  }
  const timeFmt = new Intl.DateTimeFormat("zh-CN", {
    timeZone: TZ, month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hour12: false,
  });
  const clockFmt = new Intl.DateTimeFormat("zh-CN", {
    timeZone: TZ, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
    second: "2-digit", hour12: false,
  });
  const toDate = (v) => (v ? new Date(v) : null);
  const fmtTime = (v) => { const d = toDate(v); return d && !Number.isNaN(d.getTime()) ? timeFmt.format(d) : "—"; };
  function ago(v) {
    const d = toDate(v);
    if (!d || Number.isNaN(d.getTime())) return "";
    const s = Math.max(0, Math.round((Date.now() - d.getTime()) / 1000));
    if (s < 60) return `${s} 秒前`;
    if (s < 3600) return `${Math.round(s / 60)} 分钟前`;
    if (s < 86400) return `${Math.round(s / 3600)} 小时前`;
    return `${Math.round(s / 86400)} 天前`;
  }

  // ---- DOM helpers -------------------------------------------------------------------------
  const $ = (sel) => document.querySelector(sel);
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") node.className = v;
      else if (k === "dataset") Object.assign(node.dataset, v);
      else if (k === "onclick") node.addEventListener("click", v);
      else node.setAttribute(k, v);
    }
    for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(c ?? ""));
    return node;
  }
  const setText = (sel, text) => { const n = $(sel); if (n) n.textContent = text; };
  const showEmpty = (sel, empty) => $(sel).classList.toggle("show", empty);

  // ---- access token: asked for when the API answers 401, kept for this tab only ------------
  const TOKEN_KEY = "entbrain.token";
  let asking = null; // one prompt for all the requests that were refused together
  let declined = false;
  const token = () => sessionStorage.getItem(TOKEN_KEY) || "";
  function askToken(reason, sent) {
    if (token() && token() !== sent) return Promise.resolve(true); // a token came meanwhile
    if (declined) return Promise.resolve(false);
    if (!asking) {
      asking = Promise.resolve().then(() => {
        const entered = (window.prompt(`${reason}\n请输入访问令牌 Enter an access token`, "") || "").trim();
        if (entered) sessionStorage.setItem(TOKEN_KEY, entered);
        else { sessionStorage.removeItem(TOKEN_KEY); declined = true; }
        asking = null;
        if (entered) connectStream();
        return Boolean(entered);
      });
    }
    return asking;
  }

  async function getJSON(url, retried) {
    const sent = token();
    const headers = sent ? { Authorization: `Bearer ${sent}` } : {};
    const resp = await fetch(url, { cache: "no-store", headers });
    if (resp.status === 401 && !retried) {
      const body = await resp.json().catch(() => ({}));
      if (await askToken(body.error || "需要登录 Authentication required", sent)) return getJSON(url, true);
    }
    if (!resp.ok) throw new Error(`${url}: HTTP ${resp.status}`);
    return resp.json();
  }

  async function postJSON(url, body, retried) {
    const sent = token();
    const headers = { "Content-Type": "application/json", ...(sent ? { Authorization: `Bearer ${sent}` } : {}) };
    const resp = await fetch(url, { method: "POST", cache: "no-store", headers, body: JSON.stringify(body) });
    const answer = await resp.json().catch(() => ({}));
    if ((resp.status === 401 || resp.status === 403) && !retried) {
      const reason = answer.error || "需要操作员令牌 An operator token is needed";
      if (await askToken(reason, sent)) return postJSON(url, body, true);
    }
    if (!resp.ok) throw new Error(answer.error || `${url}: HTTP ${resp.status}`);
    return answer;
  }

  // ---- charts ------------------------------------------------------------------------------
  const FONT = { family: getComputedStyle(document.body).fontFamily, color: "#c7dcff", size: 12 };
  const GRID = "rgba(64,140,230,0.15)";
  const CONFIG = { displayModeBar: false, responsive: true };
  const baseLayout = () => ({
    paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "rgba(0,0,0,0)", font: FONT,
    margin: { l: 48, r: 12, t: 8, b: 32 }, showlegend: false,
    xaxis: { gridcolor: GRID, zerolinecolor: GRID, linecolor: GRID },
    yaxis: { gridcolor: GRID, zerolinecolor: GRID, linecolor: GRID },
    hoverlabel: { bgcolor: "#0d2550", bordercolor: "#3fb6ff", font: { color: "#fff" } },
  });
  function plot(id, traces, layout) {
    const base = baseLayout();
    const merged = { ...base, ...layout, xaxis: { ...base.xaxis, ...(layout.xaxis || {}) },
      yaxis: { ...base.yaxis, ...(layout.yaxis || {}) } };
    return Plotly.react(id, traces, merged, CONFIG);
  }
  function plotEmpty(id) {
    return plot(id, [], {
      xaxis: { visible: false }, yaxis: { visible: false },
      annotations: [{ text: NO_DATA, showarrow: false, font: { size: 14, color: "#7f9cc6" }, xref: "paper", yref: "paper", x: 0.5, y: 0.5 }],
    });
  }

  function renderTiers(rows) {
    const byTier = new Map(rows.map((r) => [r.tier || "", r]));
    const tiers = TIERS.filter((t) => byTier.has(t[0]) || t[0] !== "");
    const total = rows.reduce((s, r) => s + Number(r.enterprises), 0);
    if (!total) return plotEmpty("chart-tiers");
    const extra = rows.filter((r) => !TIERS.some((t) => t[0] === (r.tier || ""))).map((r) => tierOf(r.tier));
    const all = tiers.concat(extra);
    const counts = all.map((t) => Number((byTier.get(t[0]) || {}).enterprises || 0));
    return plot("chart-tiers", [{
      type: "funnel",
      y: all.map((t) => `${t[1]}<br><span style="font-size:10px">${t[2]}</span>`),
      x: counts,
      text: counts.map((c) => `${c} 家 · ${total ? Math.round((100 * c) / total) : 0}%`),
      textinfo: "text",
      textfont: { color: "#fff", size: 13 },
      marker: { color: all.map((t) => t[3]), line: { width: 1, color: "rgba(255,255,255,0.35)" } },
      connector: { fillcolor: "rgba(63,182,255,0.10)", line: { width: 0 } },
      customdata: all.map((t) => (byTier.get(t[0]) || {}).avg_composite ?? "—"),
      hovertemplate: "%{y}<br>企业 Enterprises: %{x}<br>平均综合分 Avg composite: %{customdata}<extra></extra>",
    }], { margin: { l: 96, r: 8, t: 4, b: 4 }, yaxis: { gridcolor: "rgba(0,0,0,0)" } });
  }

  const DAY_MS = 86400000;
  // one fixed colour per alert type, so colours do not move between refreshes
  const PALETTE = ["#ff5d6c", "#ff9f43", "#f5c451", "#3fb6ff", "#38d39f", "#a78bfa", "#f472b6", "#5eead4",
    "#94a3b8", "#e879f9", "#fb7185", "#a3e635", "#60a5fa", "#fcd34d", "#c084fc"];
  function alertColor(type) {
    const i = TYPE_ORDER.indexOf(type);
    if (i >= 0) return PALETTE[i % PALETTE.length];
    let h = 0;
    for (const ch of String(type)) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
    return PALETTE[h % PALETTE.length];
  }
  // at least a month on the axis, so a few days of alerts do not become full-width bars
  function dayRange(rows) {
    const days = rows.map((r) => Date.parse(r.day)).filter((d) => !Number.isNaN(d));
    const last = Math.max(...days);
    const first = Math.min(Math.min(...days), last - 30 * DAY_MS);
    return [new Date(first - DAY_MS).toISOString().slice(0, 10), new Date(last + 2 * DAY_MS).toISOString().slice(0, 10)];
  }
  function maxStack(rows) {
    const perDay = new Map();
    rows.forEach((r) => perDay.set(r.day, (perDay.get(r.day) || 0) + Number(r.alerts)));
    return Math.max(0, ...perDay.values());
  }

  function renderDaily(rows) {
    if (!rows.length) return plotEmpty("chart-alerts-daily");
    const types = [...new Set(rows.map((r) => r.alert_type))];
    const traces = types.map((t) => {
      const mine = rows.filter((r) => r.alert_type === t);
      return {
        type: "bar", name: zh(ALERT_TYPES[t], t), x: mine.map((r) => r.day), y: mine.map((r) => Number(r.alerts)),
        width: mine.map(() => DAY_MS * 0.8), marker: { color: alertColor(t) },
        hovertemplate: `%{x}<br>${bi(ALERT_TYPES[t], t)}: %{y}<extra></extra>`,
      };
    });
    return plot("chart-alerts-daily", traces, {
      barmode: "stack", showlegend: true, bargap: 0.25,
      legend: { orientation: "v", x: 1.01, y: 1, yanchor: "top", font: { size: 11 }, tracegroupgap: 0 },
      margin: { l: 36, r: 8, t: 8, b: 32 }, xaxis: { type: "date", tickformat: "%m-%d", range: dayRange(rows) },
      yaxis: { rangemode: "tozero", tickformat: ",d", dtick: maxStack(rows) <= 5 ? 1 : null },
    });
  }

  function renderIndustries(rows) {
    const data = rows.filter((r) => Number(r.enterprises) > 0)
      .sort((a, b) => Number(a.median) - Number(b.median)).slice(-12);
    if (!data.length) return plotEmpty("chart-industries");
    const labels = data.map((r) => `${sectionLabel(r.industry_section)} <span style="color:#7f9cc6">${r.enterprises}</span>`);
    return plot("chart-industries", [
      {
        type: "bar", orientation: "h", y: labels, base: data.map((r) => Number(r.p25)),
        x: data.map((r) => Math.max(0.8, Number(r.p75) - Number(r.p25))),
        marker: { color: "rgba(63,182,255,0.45)", line: { color: "#3fb6ff", width: 1 } },
        customdata: data.map((r) => [r.p25, r.p75, r.enterprises, r.mean]),
        hovertemplate: "%{y}<br>P25–P75: %{customdata[0]}–%{customdata[1]}<br>企业 Enterprises: %{customdata[2]}<br>均值 Mean: %{customdata[3]}<extra></extra>",
      },
      {
        type: "scatter", mode: "markers", y: labels, x: data.map((r) => Number(r.median)),
        marker: { symbol: "line-ns-open", size: 16, color: "#f5c451", line: { width: 3, color: "#f5c451" } },
        hovertemplate: "%{y}<br>中位数 Median: %{x}<extra></extra>",
      },
    ], {
      margin: { l: 96, r: 16, t: 4, b: 30 }, bargap: 0.35,
      xaxis: { range: [0, 100], title: { text: "综合评分 Composite", font: { size: 11 } } },
    });
  }

  // ---- panels ------------------------------------------------------------------------------
  const names = new Map(); // uscc → enterprise name, from any panel that returned one

  function renderKpis(k) {
    setText("#kpi-enterprises .value", fmtInt(k.enterprises));
    setText("#kpi-in-park .value", fmtInt(k.in_park));
    setText("#kpi-exited .value", fmtInt(k.exited));
    setText("#kpi-active-alerts .value", fmtInt(k.active_alerts));
    setText("#kpi-critical", Number(k.critical_alerts) ? `严重 ${fmtInt(k.critical_alerts)}` : "");
    setText("#kpi-events-today .value", fmtInt(k.events_today));
    setText("#kpi-events-total .value", fmtInt(k.events_total));
    setText("#kpi-dead-letters .value", fmtInt(k.dead_letters));
    const last = Number(k.events_total) ? k.last_ingested_at : null;
    setText("#kpi-last-event .value", last ? fmtTime(last) : "暂无 None");
    setText("#kpi-last-event-ago", last ? ago(last) : "");
    setText("#alert-count", Number(k.active_alerts) ? `${fmtInt(k.active_alerts)} 条活跃` : "");
  }

  function renderFreshness(rows) {
    $("#freshness-table tbody").replaceChildren(...rows.map((r) => el("tr", {},
      el("td", {}, r.source),
      el("td", { class: "num", title: "业务时间 Business time" }, fmtTime(r.last_business_time)),
      el("td", { class: "num", title: "接收时间 Ingested" }, ago(r.last_ingested_at)),
    )));
    showEmpty("#freshness-empty", !rows.length);
  }

  const pct = (v) => (num(v) === null ? "—" : `${(num(v) * 100).toFixed(1)}%`);

  function renderMatchRate(rows) {
    $("#match-table tbody").replaceChildren(...rows.map((r) => el("tr", {},
      el("td", {}, r.source),
      el("td", { class: "num" }, fmtInt(r.applied)),
      el("td", { class: "num" }, fmtInt(r.legacy_resolved)),
      el("td", { class: "num" }, fmtInt(r.parked)),
      el("td", { class: "num", title: `旧标识匹配率 legacy ${pct(r.legacy_match_rate)}` }, pct(r.match_rate)),
    )));
    showEmpty("#match-empty", !rows.length);
  }

  function renderUnmatched(rows) {
    $("#unmatched-table tbody").replaceChildren(...rows.map((r) => el("tr", {},
      el("td", {}, `${r.source} · ${bi(KINDS[r.kind], r.kind)}`),
      el("td", {}, r.reason),
      el("td", { class: "num" }, fmtInt(r.under_1h)),
      el("td", { class: "num" }, fmtInt(r.under_1d)),
      el("td", { class: "num" }, fmtInt(r.older)),
      el("td", { class: "num" }, ago(r.oldest_parked_at)),
    )));
    showEmpty("#unmatched-empty", !rows.length);
  }

  const qualityChecks = new Map();
  function renderQuality(rows) {
    $("#quality-table tbody").replaceChildren(...rows.map((r) => el("tr", {},
      el("td", {}, bi(qualityChecks.get(r.check), r.check)),
      el("td", {}, r.severity),
      el("td", { class: "num", title: "发现 findings" }, fmtInt(r.findings)),
      el("td", { class: "num", title: "企业 enterprises" }, fmtInt(r.enterprises)),
    )));
    showEmpty("#quality-empty", !rows.length);
  }

  function renderLibrary(d) {
    $("#dd-provenance tbody").replaceChildren(...(d.provenance || []).map((r) => el("tr", {},
      el("td", {}, r.field),
      el("td", {}, r.value === null || r.value === undefined ? "—" : String(r.value)),
      el("td", { title: r.business_date || "" }, r.set_by || "—"),
      el("td", {}, r.event_id || "—"),
      el("td", {}, Object.entries(r.others || {}).map(([s, v]) => `${s}: ${v}`).join("; ") || "—"),
    )));
    const ids = (d.identities || []).map((i) => i.identifier);
    setText("#dd-identities", ids.length ? `曾用标识 Former identifiers: ${ids.join(", ")}` : "");
    const findings = d.quality || [];
    $("#dd-quality").replaceChildren(...(findings.length ? findings.map((f) => el("li", { class: f.severity },
      el("span", {}, bi(qualityChecks.get(f.check), f.check)),
      el("span", { class: "title", title: f.explanation_en }, `${f.explanation_zh} ${f.explanation_en}`),
    )) : [el("li", { class: "info" }, el("span", {}, ""), el("span", { class: "title" }, "未发现矛盾 No contradictions"))]));
  }

  function renderSources(rows) {
    renderFreshness(rows);
    const body = $("#source-table tbody");
    body.replaceChildren(...rows.map((r) => el("tr", {},
      el("td", {}, bi(KINDS[r.kind], r.kind)),
      el("td", {}, r.source),
      el("td", { class: "num" }, fmtInt(r.events)),
      el("td", { class: "num", title: "业务时间 Business time" }, fmtTime(r.last_business_time)),
      el("td", { class: "num", title: "接收时间 Ingested" }, ago(r.last_ingested_at)),
    )));
    showEmpty("#source-empty", !rows.length);
  }

  function renderDistricts(rows) {
    const body = $("#district-table tbody");
    body.replaceChildren(...rows.map((r) => el("tr", {},
      el("td", { title: r.district_code }, districtLabel(r.district_code)),
      el("td", { class: "num" }, fmtInt(r.enterprises)),
      el("td", { class: "num" }, fmtInt(r.in_park)),
      el("td", { class: "num" }, fmtMoney(r.latest_month_revenue)),
      el("td", { class: "num" }, fmtInt(r.latest_headcount)),
      el("td", { class: "num" }, fmtInt(r.open_alerts)),
    )));
    showEmpty("#district-empty", !rows.length);
  }

  function tierBadge(tier) {
    const t = tierOf(tier);
    return el("span", { class: `tier tier-${t[0] || "none"}`, title: t[2] }, t[1]);
  }

  function renderTop(rows) {
    rows.forEach((r) => names.set(r.uscc, r.name));
    const body = $("#top-table tbody");
    body.replaceChildren(...rows.map((r, i) => el("tr", {
      class: "link", dataset: { uscc: r.uscc }, onclick: () => openEnterprise(r.uscc),
    },
      el("td", {}, el("span", { class: `rank r${i + 1}` }, String(i + 1))),
      el("td", { class: "name", title: `${r.name} ${r.uscc}` }, r.name || r.uscc),
      el("td", { class: "code" }, r.uscc),
      el("td", {}, sectionLabel(r.industry_section)),
      el("td", {}, districtLabel(r.district_code)),
      el("td", {}, tierBadge(r.tier)),
      el("td", { class: "num" }, fmtMoney(r.latest_revenue)),
      el("td", { class: "num" }, Number(r.composite).toFixed(1)),
      el("td", { class: "num" }, fmtInt(r.open_alerts)),
    )));
    showEmpty("#top-empty", !rows.length);
  }

  // The feed: latest versions of alerts by id, from the database and the live stream.
  const feed = new Map();
  const fresh = new Set();

  function upsertAlert(a, live) {
    const known = feed.get(a.alert_id);
    if (known && Number(known.version) > Number(a.version)) return;
    feed.set(a.alert_id, { ...known, ...a, name: a.name || (known && known.name) || names.get(a.uscc) || "" });
    if (live) fresh.add(a.alert_id);
  }

  function alertTitle(a, who) {
    if (a.title_zh || a.title_en) return a.title_zh || a.title_en;
    // resolved versions carry no title of their own
    const what = zh(ALERT_TYPES[a.alert_type], a.alert_type);
    return a.state === "resolved" ? `${what}已解除${who ? `：${who}` : ""}` : `${what}${who ? `：${who}` : ""}`;
  }

  const VERDICTS = { confirmed: ["属实", "Confirmed"], false_alarm: ["误报", "False alarm"] };

  // What people did about an alert: acknowledged (by whom), assigned (to whom), the verdict.
  function actionBadges(a) {
    const out = [];
    if (Number(a.acked)) out.push(el("span", { class: "act acked", title: fmtTime(a.acked_at) },
      `已确认 Acked${a.acked_by ? ` · ${a.acked_by}` : ""}`));
    if (a.assignee) out.push(el("span", { class: "act assigned" }, `指派 Assigned · ${a.assignee}`));
    if (a.verdict) out.push(el("span", { class: `act verdict ${a.verdict}`, title: a.verdict_comment || "" },
      `研判 Verdict · ${bi(VERDICTS[a.verdict], a.verdict)}`));
    return out;
  }

  const ACTOR_KEY = "entbrain.actor";
  async function act(a, uscc, action, extra) {
    const by = localStorage.getItem(ACTOR_KEY)
      || (window.prompt("您的姓名 Your name (recorded with the action)", "") || "").trim();
    if (!by) return;
    localStorage.setItem(ACTOR_KEY, by);
    try {
      await postJSON(`/api/alerts/${encodeURIComponent(a.alert_id)}/${action}`, { by, ...extra });
    } catch (err) {
      window.alert(`操作失败 The action failed: ${err.message}`);
      return;
    }
    openEnterprise(uscc);
  }

  function actionButtons(a, uscc) {
    const button = (label, action, extra) => el("button", {
      type: "button", class: "act-button", dataset: { action: extra && extra.verdict ? extra.verdict : action },
      onclick: (ev) => { ev.stopPropagation(); act(a, uscc, action, extra); },
    }, label);
    return el("span", { class: "act-buttons" },
      Number(a.acked) ? "" : button("确认 Ack", "ack"),
      button("属实 Confirmed", "verdict", { verdict: "confirmed" }),
      button("误报 False alarm", "verdict", { verdict: "false_alarm" }));
  }

  function alertItem(a) {
    const sev = a.state === "resolved" ? "resolved" : a.severity;
    const who = a.name || names.get(a.uscc) || "";
    const title = alertTitle(a, who);
    return el("li", {
      class: `${sev}${fresh.has(a.alert_id) ? " fresh" : ""}`,
      dataset: { uscc: a.uscc, alertId: a.alert_id },
      title: [title, a.title_en].filter(Boolean).join("\n"),
      onclick: () => openEnterprise(a.uscc),
    },
      el("span", { class: "sev" }, a.state === "resolved" ? "解除" : zh(SEVERITY[a.severity], a.severity)),
      el("span", { class: "title" }, title),
      el("span", { class: "time" }, fmtTime(a.emitted_at || a.occurred_at)),
      el("span", { class: "meta" }, [
        who && !title.includes(who) ? who : "", a.uscc, bi(ALERT_TYPES[a.alert_type], a.alert_type),
        districtLabel(a.district_code || ""), zh(STATES[a.state], a.state),
      ].filter((x) => x && x !== "—").join(" · ")),
      el("span", { class: "actions" }, ...actionBadges(a)),
    );
  }

  function renderFeed() {
    const resolved = (a) => (a.state === "resolved" ? 1 : 0);
    const items = [...feed.values()]
      .sort((a, b) => resolved(a) - resolved(b) || String(b.emitted_at).localeCompare(String(a.emitted_at))
        || a.alert_id.localeCompare(b.alert_id))
      .slice(0, MAX_FEED);
    $("#alert-list").replaceChildren(...items.map(alertItem));
    showEmpty("#alert-empty", !items.length);
    fresh.clear();
  }

  function renderAlerts(rows) {
    rows.forEach((r) => { if (r.name) names.set(r.uscc, r.name); upsertAlert(r, false); });
    renderFeed();
  }

  // ---- refresh loop ------------------------------------------------------------------------
  const PANELS = [
    ["kpis", (rows) => renderKpis(rows[0] || {})],
    ["sources", renderSources],
    ["tiers", renderTiers],
    ["alerts-daily", renderDaily],
    ["industries", renderIndustries],
    ["districts", renderDistricts],
    ["top", renderTop],
    ["alerts", renderAlerts],
    ["match-rate", renderMatchRate],
    ["unmatched", renderUnmatched],
    ["quality", renderQuality],
  ];
  let refreshing = false;
  let soon = null;

  async function refresh() {
    if (refreshing) return;
    refreshing = true;
    try {
      const results = await Promise.allSettled(PANELS.map(([name]) => getJSON(`/api/dashboard/${name}`)));
      let failed = 0;
      results.forEach((res, i) => {
        if (res.status === "fulfilled") PANELS[i][1](res.value);
        else { failed += 1; console.warn("dashboard panel", PANELS[i][0], res.reason); }
      });
      setText("#updated", failed ? `部分失败 ${failed} failed` : clockFmt.format(new Date()).slice(11));
    } finally {
      refreshing = false;
    }
  }

  function refreshSoon() {
    clearTimeout(soon);
    soon = setTimeout(refresh, 700);
  }

  // ---- live alerts (SSE) -------------------------------------------------------------------
  const stats = { liveAlerts: 0 }; // alerts received over the stream (read by the browser test)
  let source = null;
  function connectStream() {
    if (!window.EventSource) return;
    if (source) source.close();
    // EventSource cannot send headers: the token goes as a query parameter.
    const url = token() ? `/api/alerts/stream?access_token=${encodeURIComponent(token())}` : "/api/alerts/stream";
    source = new EventSource(url);
    const live = (on) => {
      $("#live").className = `live ${on ? "on" : "off"}`;
      setText("#live-text", on ? "实时 Live" : "重连中 Reconnecting");
    };
    source.onopen = () => live(true);
    source.onerror = () => {
      live(false);
      // Closed for good (e.g. 401 before a token was entered): try again with the current token.
      if (source.readyState === EventSource.CLOSED) setTimeout(connectStream, 5000);
    };
    source.onmessage = (msg) => {
      let alert;
      try { alert = JSON.parse(msg.data); } catch (err) { console.warn("bad alert event", err); return; }
      stats.liveAlerts += 1;
      upsertAlert(alert, true);
      renderFeed();
      refreshSoon();
    };
  }

  // ---- drill-down --------------------------------------------------------------------------
  function monthSeries(profile, name) {
    // EnterpriseState keeps monthly series as lists aligned to monthly.start ("YYYY-MM").
    const m = profile && profile.monthly;
    if (m && m.start && Array.isArray(m[name])) {
      const [y, mo] = m.start.split("-").map(Number);
      return m[name].map((v, i) => {
        const idx = y * 12 + mo - 1 + i;
        return [`${Math.floor(idx / 12)}-${String((idx % 12) + 1).padStart(2, "0")}`, v];
      }).filter(([, v]) => v !== null && v !== undefined);
    }
    const dict = profile && profile[name];
    return dict && typeof dict === "object" ? Object.entries(dict).sort() : [];
  }

  function renderFacts(uscc, profile, snap) {
    const p = profile || {};
    const s = snap || {};
    const status = p.status || s.status;
    const tier = (p.scores && p.scores.tier) || s.tier;
    setText("#dd-name", p.name || s.name || "未知企业 Unknown enterprise");
    setText("#dd-uscc", uscc);
    const tags = [
      el("span", { class: status && status !== "active" ? "bad" : "" }, bi(STATUS[status], status || "—")),
      tierBadge(tier),
      el("span", {}, (p.in_park ?? s.in_park) ? "在园 In park" : "园外 Outside park"),
    ];
    if (p.high_tech) tags.push(el("span", {}, "高新技术企业 High-tech"));
    for (const l of (p.scores && p.scores.lists) || []) tags.push(el("span", {}, l));
    $("#dd-tags").replaceChildren(...tags);
    const composite = p.scores ? p.scores.composite : s.composite;
    const exitRisk = p.scores ? p.scores.exit_risk : null;
    const facts = [
      ["区县 District", districtLabel(p.district_code || s.district_code)],
      ["行业 Industry", `${p.industry_code || s.industry_code || "—"} ${SECTIONS[s.industry_section] || ""}`],
      ["法定代表人 Legal rep.", p.legal_representative || "—"],
      ["注册资本 Reg. capital", fmtMoney(p.registered_capital)],
      ["成立日期 Established", p.established || "—"],
      ["纳税信用 Tax credit", p.credit_grade || "—"],
      ["综合评分 Composite", composite === undefined || composite === null ? "—" : Number(composite).toFixed(1)],
      ["退出风险 Exit risk", exitRisk === null || exitRisk === undefined ? "—" : `${Math.round(exitRisk * 100)}%`],
      ["最新营收 Latest revenue", fmtMoney(s.latest_revenue)],
    ];
    $("#dd-facts").replaceChildren(...facts.map(([k, v]) => el("div", {}, el("dt", {}, k), el("dd", { title: v }, v))));
  }

  function renderDrillCharts(profile, detail) {
    const snap = detail.snapshot;
    const dims = profile && profile.scores && profile.scores.dims && profile.scores.dims.length === 5
      ? profile.scores.dims : snap ? DIMENSIONS.map(([k]) => Number(snap[k])) : null;
    if (dims && dims.some((v) => v > 0)) {
      plot("dd-radar", [{
        type: "scatterpolar", r: [...dims, dims[0]], theta: [...DIMENSIONS, DIMENSIONS[0]].map((d) => `${d[1]} ${d[2]}`),
        fill: "toself", fillcolor: "rgba(63,182,255,0.25)", line: { color: "#3fb6ff" },
        hovertemplate: "%{theta}: %{r:.1f}<extra></extra>",
      }], {
        margin: { l: 50, r: 50, t: 20, b: 20 },
        polar: { bgcolor: "rgba(0,0,0,0)", radialaxis: { range: [0, 100], gridcolor: GRID, showticklabels: false, ticks: "" },
          angularaxis: { gridcolor: GRID, tickfont: { size: 10 } } },
      });
    } else plotEmpty("dd-radar");

    const hist = detail.scores || [];
    if (hist.length) {
      plot("dd-history", [{
        // x is the state version: replayed history is scored within seconds of wall time
        type: "scatter", mode: hist.length > 1 ? "lines+markers" : "markers", x: hist.map((h) => Number(h.state_version)),
        y: hist.map((h) => Number(h.composite)), line: { color: "#f5c451", width: 2, shape: "hv" }, marker: { size: 5 },
        customdata: hist.map((h) => [bi(tierOf(h.tier).slice(1, 3)), fmtTime(h.scored_at)]),
        hovertemplate: "版本 Version %{x}<br>综合 Composite %{y:.1f}<br>%{customdata[0]}<br>%{customdata[1]}<extra></extra>",
      }], {
        yaxis: { range: [0, 100] }, margin: { l: 36, r: 8, t: 8, b: 36 },
        xaxis: { title: { text: "状态版本 State version", font: { size: 10 } }, tickformat: ",d" },
      });
    } else plotEmpty("dd-history");

    const revenue = monthSeries(profile, "revenue");
    const headcount = monthSeries(profile, "headcount");
    if (revenue.length || headcount.length) {
      plot("dd-monthly", [
        { type: "bar", name: "营收 Revenue (万元)", x: revenue.map((r) => r[0]), y: revenue.map((r) => Number(r[1]) / 1e4),
          marker: { color: "rgba(63,182,255,0.7)" }, hovertemplate: "%{x}<br>营收 %{y:.1f} 万元<extra></extra>" },
        { type: "scatter", mode: "lines+markers", name: "参保人数 Insured", x: headcount.map((r) => r[0]),
          y: headcount.map((r) => Number(r[1])), yaxis: "y2", line: { color: "#38d39f" },
          hovertemplate: "%{x}<br>参保 %{y} 人<extra></extra>" },
      ], {
        showlegend: true, legend: { orientation: "h", x: 0, y: 1.08, font: { size: 11 } },
        margin: { l: 48, r: 40, t: 24, b: 32 }, xaxis: { type: "category" },
        yaxis: { title: { text: "万元", font: { size: 10 } } },
        yaxis2: { overlaying: "y", side: "right", gridcolor: "rgba(0,0,0,0)", rangemode: "tozero", tickformat: ",d",
          title: { text: "人 persons", font: { size: 10 } } },
      });
    } else plotEmpty("dd-monthly");

    const alerts = detail.alerts || [];
    $("#dd-alerts").replaceChildren(...(alerts.length
      ? alerts.map((a) => {
        const item = alertItem({ ...a, uscc: detail.uscc });
        item.append(el("span", { class: "meta" }, a.explanation_zh || ""));
        item.append(actionButtons(a, detail.uscc));
        return item;
      })
      : [el("li", { class: "info" }, el("span", {}, ""), el("span", { class: "title" }, "暂无预警 No alerts"))]));
  }

  let openSeq = 0;
  async function openEnterprise(uscc) {
    const mine = ++openSeq;
    $("#drilldown").hidden = false;
    $("#backdrop").hidden = false;
    setText("#dd-name", names.get(uscc) || "加载中 Loading…");
    setText("#dd-uscc", uscc);
    const [profile, detail] = await Promise.allSettled([
      getJSON(`/api/enterprises/${encodeURIComponent(uscc)}`),
      getJSON(`/api/dashboard/enterprise/${encodeURIComponent(uscc)}`),
    ]);
    if (mine !== openSeq) return; // another enterprise was opened meanwhile
    const p = profile.status === "fulfilled" ? profile.value : null;
    const d = detail.status === "fulfilled" ? detail.value : { uscc, snapshot: null, scores: [], alerts: [] };
    renderFacts(uscc, p, d.snapshot);
    renderDrillCharts(p, d);
    renderLibrary(d);
  }

  function closeDrawer() {
    openSeq += 1;
    $("#drilldown").hidden = true;
    $("#backdrop").hidden = true;
  }

  // ---- start -------------------------------------------------------------------------------
  $("#dd-close").addEventListener("click", closeDrawer);
  $("#backdrop").addEventListener("click", closeDrawer);
  document.addEventListener("keydown", (e) => { if (e.key === "Escape") closeDrawer(); });
  const tick = () => setText("#clock", clockFmt.format(new Date()));
  tick();
  setInterval(tick, 1000);
  async function loadQualityChecks() {
    try {
      (await getJSON("/api/quality-checks")).forEach((c) => qualityChecks.set(c.check, [c.label_zh, c.label_en]));
    } catch (e) {
      console.warn("quality-check catalogue", e);
    }
  }
  loadQualityChecks();

  async function loadCatalogue() {
    try {
      const doc = await getJSON("/api/alert-types");
      for (const t of doc.alert_types) {
        ALERT_TYPES[t.alert_type] = [t.label_zh, t.label_en];
        TYPE_ORDER.push(t.alert_type);
      }
      for (const [key, s] of Object.entries(doc.severities)) SEVERITY[key] = [s.label_zh, s.label_en];
    } catch (err) {
      console.warn("alert catalogue unavailable; showing alert type keys", err);
    }
  }
  // ---- the one-click report (一键生成) for the month shown ------------------------------------
  async function loadPeriods() {
    try {
      const doc = await getJSON("/api/report/periods");
      const select = $("#report-period");
      const chosen = select.value;
      select.replaceChildren(...doc.periods.map((p) => el("option", { value: p }, p)));
      if (doc.periods.includes(chosen)) select.value = chosen;
    } catch (err) {
      console.warn("report months unavailable", err);
    }
  }
  async function downloadReport(retried) {
    const period = $("#report-period").value;
    if (!period) return;
    const button = $("#report-button");
    button.disabled = true;
    try {
      const sent = token();
      const headers = sent ? { Authorization: `Bearer ${sent}` } : {};
      const resp = await fetch(`/api/report?period=${encodeURIComponent(period)}`, { cache: "no-store", headers });
      if (resp.status === 401 && !retried) {
        const body = await resp.json().catch(() => ({}));
        if (await askToken(body.error || "需要登录 Authentication required", sent)) return downloadReport(true);
      }
      if (!resp.ok) throw new Error(`report: HTTP ${resp.status}`);
      const url = URL.createObjectURL(await resp.blob());
      const link = el("a", { href: url, download: `entbrain-report-${period}.html` });
      document.body.appendChild(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60000);
    } catch (err) {
      console.warn("report failed", err);
      window.alert(`报告生成失败 Report failed: ${err.message}`);
    } finally {
      button.disabled = false;
    }
  }
  $("#report-button").addEventListener("click", () => downloadReport(false));

  loadCatalogue().finally(() => {
    loadPeriods();
    setInterval(loadPeriods, 60000);
    refresh();
    setInterval(refresh, REFRESH_MS);
    connectStream();
  });
  window.entbrainDashboard = { refresh, openEnterprise, stats, loadPeriods, downloadReport };
})();
