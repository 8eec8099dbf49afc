// The Grafana dashboard (otel/grafana/dashboards/cqrs.json) queries metrics by name; a name that no
// service exposes is a panel that stays empty forever, and nothing else would notice. This starts the
// three services as their own processes with telemetry preloaded (as `npm start` and the images run
// them), drives a short run through the gateway (creates, updates, reads twice for cache misses and
// hits, a 404, a search), and checks that every metric name, and every label, the dashboard's PromQL
// uses appears on the services' /metrics, which is what Prometheus scrapes.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, test } from "node:test";
import * as v from "valibot";
import type { ServiceName } from "#services/launch.ts";
import { loadConfig } from "#shared/platform/config.ts";
import { adminHeaders } from "../support/auth.ts";
import { processEnv, type ServiceProcess, spawnService, waitReady } from "../support/processes.ts";
import { cleanUp, eventually } from "../support/system.ts";

const root = path.resolve(import.meta.dirname, "../..");
const dashboardFile = path.join(root, "otel", "grafana", "dashboards", "cqrs.json");
const SERVICES = ["writer", "reader", "gateway"] as const satisfies readonly ServiceName[];

// --- PromQL: the metric and label names an expression uses --------------------------------------

/** Labels Prometheus adds when it scrapes (job_name and target), which /metrics cannot show. */
const SCRAPE_LABELS = new Set(["job", "instance"]);

/** Words that look like metric names in PromQL but are operators, modifiers or aggregations. */
const KEYWORDS = new Set([
  ...["and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset"],
  ...["sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values", "bottomk", "topk"],
  ...["quantile", "limitk", "limit_ratio", "inf", "nan"],
]);

interface PromQlNames {
  metrics: string[];
  /** label -> the metric selectors it filters in this expression. */
  matchers: Map<string, Set<string>>;
  /** Labels of by/without/on/ignoring/group_* clauses. */
  grouping: Set<string>;
}

function namesIn(expr: string): PromQlNames {
  // String contents go first: a regex like "5.." or "/healthz|/readyz" is neither a name nor syntax.
  const text = expr.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""');
  const matchers = new Map<string, Set<string>>();
  for (const selector of text.matchAll(/([a-zA-Z_:][\w:]*)?\s*\{([^}]*)\}/g)) {
    const metric = selector[1] ?? "";
    for (const matcher of (selector[2] ?? "").matchAll(/([a-zA-Z_]\w*)\s*(?:=~|!~|!=|=)/g)) {
      const label = matcher[1] ?? "";
      const metrics = matchers.get(label) ?? new Set<string>();
      metrics.add(metric);
      matchers.set(label, metrics);
    }
  }
  const grouping = new Set<string>();
  for (const clause of text.matchAll(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/g)) {
    for (const label of (clause[1] ?? "").split(",")) if (label.trim() !== "") grouping.add(label.trim());
  }
  const bare = text
    .replace(/\{[^}]*\}/g, " ")
    .replace(/\[[^\]]*\]/g, " ")
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, " ")
    .replace(/\$\{?\w+\}?/g, " ");
  const metrics = new Set<string>();
  for (const token of bare.matchAll(/(?<![\w.:$])[a-zA-Z_:][\w:]*/g)) {
    const name = token[0];
    const rest = bare.slice((token.index ?? 0) + name.length);
    // A name followed by "(" is a function or an aggregation.
    if (KEYWORDS.has(name) || /^\s*\(/.test(rest)) continue;
    metrics.add(name);
  }
  return { metrics: [...metrics], matchers, grouping };
}

// --- The dashboard ---------------------------------------------------------------------------------

const Target = v.object({ expr: v.optional(v.string()), datasource: v.optional(v.object({ type: v.string() })) });
type Panel = {
  datasource?: { type: string } | undefined;
  targets?: v.InferOutput<typeof Target>[] | undefined;
  panels?: Panel[] | undefined;
};
const PanelSchema: v.GenericSchema<Panel> = v.object({
  datasource: v.optional(v.object({ type: v.string() })),
  targets: v.optional(v.array(Target)),
  panels: v.optional(v.array(v.lazy(() => PanelSchema))),
});

/** Every PromQL expression of the dashboard, rows' nested panels included. */
function promQl(): string[] {
  const dashboard = v.parse(
    v.object({ panels: v.array(PanelSchema) }),
    JSON.parse(fs.readFileSync(dashboardFile, "utf8")),
  );
  const exprs: string[] = [];
  const visit = (panel: Panel) => {
    for (const target of panel.targets ?? []) {
      const type = target.datasource?.type ?? panel.datasource?.type;
      if (type === "prometheus" && target.expr) exprs.push(target.expr);
    }
    for (const child of panel.panels ?? []) visit(child);
  };
  for (const panel of dashboard.panels) visit(panel);
  return exprs;
}

// --- /metrics --------------------------------------------------------------------------------------

interface Exposition {
  /** Sample name (as on /metrics: with _bucket, _sum, _count, _total) -> label names seen on it. */
  samples: Map<string, Set<string>>;
  /** Family name from `# TYPE` -> its type. */
  types: Map<string, string>;
}

function parseExposition(texts: string[]): Exposition {
  const samples = new Map<string, Set<string>>();
  const types = new Map<string, string>();
  for (const line of texts.flatMap((text) => text.split("\n"))) {
    const type = /^# TYPE (\S+) (\S+)/.exec(line);
    if (type?.[1] && type[2]) types.set(type[1], type[2]);
    const sample = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s/.exec(line);
    if (!sample?.[1]) continue;
    const labels = samples.get(sample[1]) ?? new Set<string>();
    for (const label of (sample[2] ?? "").matchAll(/([a-zA-Z_]\w*)="/g)) labels.add(label[1] ?? "");
    samples.set(sample[1], labels);
  }
  return { samples, types };
}

/**
 * The family a sample name belongs to, the way the exposition names it: a histogram's _bucket, _sum
 * and _count series belong to the histogram; a counter's family already ends in _total (this
 * exporter writes `# TYPE x_total counter`); anything else is its own family.
 */
function familyOf(name: string, types: Map<string, string>): { family: string; type: string | undefined } {
  const histogram = /^(.*)_(bucket|sum|count)$/.exec(name)?.[1];
  if (histogram && types.get(histogram) === "histogram") return { family: histogram, type: "histogram" };
  return { family: name, type: types.get(name) };
}

/** What is wrong with the dashboard's names against this exposition; empty when nothing is. */
function problems(exprs: string[], exposition: Exposition): string[] {
  const found: string[] = [];
  for (const expr of exprs) {
    const { metrics, matchers, grouping } = namesIn(expr);
    for (const metric of metrics) {
      if (!exposition.samples.has(metric)) found.push(`${metric} is on no /metrics (in ${expr})`);
      else if (metric.endsWith("_bucket") && familyOf(metric, exposition.types).type !== "histogram") {
        found.push(`${metric} is not a histogram's buckets (in ${expr})`);
      }
    }
    const labelsOf = (metric: string) => exposition.samples.get(metric) ?? new Set<string>();
    for (const [label, selectors] of matchers) {
      if (SCRAPE_LABELS.has(label)) continue;
      for (const metric of selectors) {
        if (exposition.samples.has(metric) && !labelsOf(metric).has(label)) {
          found.push(`${metric} has no label ${label} (in ${expr})`);
        }
      }
    }
    for (const label of grouping) {
      if (SCRAPE_LABELS.has(label)) continue;
      if (!metrics.some((metric) => labelsOf(metric).has(label))) {
        found.push(`no metric of the expression has the label ${label} it groups by (in ${expr})`);
      }
    }
  }
  return [...new Set(found)];
}

// --- The services ----------------------------------------------------------------------------------

const running: ServiceProcess[] = [];

async function scrape(): Promise<string[]> {
  return Promise.all(SERVICES.map((name) => fetch(`${metricsUrls[name]}/metrics`).then((r) => r.text())));
}
let env: Record<string, string> = {};
let urls: Record<ServiceName, string> = { gateway: "", writer: "", reader: "" };
let metricsUrls: Record<ServiceName, string> = { ...urls };

before(async () => {
  ({ env, urls, metricsUrls } = await processEnv("dashboard", { OUTBOX_POLL_MS: "200" }));
  // The gateway knows the tiers' addresses up front, so the three start side by side.
  for (const name of SERVICES) {
    running.push(spawnService(name, { OTEL_SDK_DISABLED: undefined, ...env, OTEL_SERVICE_NAME: name }));
  }
  await Promise.all(running.map((service) => waitReady(service, `${urls[service.name]}/readyz`)));
});

after(async () => {
  await Promise.all(running.map((service) => service.stop()));
  await cleanUp(loadConfig({ ...process.env, ...env }));
});

test("namesIn finds metric and label names, not functions, keywords, strings or variables", () => {
  const names = namesIn(
    '(sum by (job, rpc_method) (rate(a_count{code=~"2|4"}[$__rate_interval])) or sum by (job) (rate(a_count[5m])) * 0) / max(b_total{x="y"}) + histogram_quantile(0.95, sum by (le) (rate(c_bucket[1m])))',
  );
  assert.deepEqual(names.metrics.sort(), ["a_count", "b_total", "c_bucket"]);
  assert.deepEqual([...names.grouping].sort(), ["job", "le", "rpc_method"]);
  assert.deepEqual([...names.matchers.keys()].sort(), ["code", "x"]);
});

test("every metric and label the dashboard queries is on the services' /metrics", async (t) => {
  const exprs = promQl();
  assert.ok(exprs.length >= 10, `only ${exprs.length} PromQL expressions in ${dashboardFile}`);

  const json = { "content-type": "application/json", ...(await adminHeaders()) };
  const base = `${urls.gateway}/api/v1/products`;
  const ids: { id: string; version: number }[] = [];
  const run = Date.now().toString(36);
  for (let i = 0; i < 3; i += 1) {
    const created = await fetch(base, {
      method: "POST",
      headers: json,
      body: JSON.stringify({
        sku: `DASH-${run}-${i}`,
        name: `Dashboard Widget ${i}`,
        priceCents: 100 + i,
        currency: "EUR",
      }),
    });
    assert.equal(created.status, 201, await created.clone().text());
    ids.push((await created.json()) as { id: string; version: number });
  }
  for (const product of ids.slice(0, 2)) {
    const updated = await fetch(`${base}/${product.id}`, {
      method: "PATCH",
      headers: json,
      body: JSON.stringify({ priceCents: 999 }),
    });
    assert.equal(updated.status, 200);
    product.version = ((await updated.json()) as { version: number }).version;
  }
  // The first read may come while the reader still joins its consumer group: retried until served.
  const [first] = ids;
  assert.ok(first);
  await eventually(
    "the reader to serve the first product",
    async () => {
      const response = await fetch(`${base}/${first.id}`, { headers: { "x-min-version": String(first.version) } });
      await response.body?.cancel();
      return response.status === 200 ? true : undefined;
    },
    60_000,
  );
  // Twice each, waiting for the projection: a cache miss that fills (the first is cached already), then a hit.
  for (const { id, version } of ids) {
    for (let read = 0; read < 2; read += 1) {
      const response = await fetch(`${base}/${id}`, { headers: { "x-min-version": String(version) } });
      assert.equal(response.status, 200, await response.text());
    }
  }
  const missing = await fetch(`${base}/01890a5d-ac96-774b-bcce-b302099a8057`);
  assert.equal(missing.status, 404);
  await missing.body?.cancel();
  const search = await fetch(`${base}?q=dashboard`);
  assert.equal(search.status, 200);
  await search.body?.cancel();

  // Observable gauges and the projection's metrics appear as their callbacks and events run.
  let last: string[] = [];
  const exposition = await eventually(
    "every dashboard metric on /metrics",
    async () => {
      const current = parseExposition(await scrape());
      last = problems(exprs, current);
      return last.length === 0 ? current : undefined;
    },
    30_000,
  ).catch((error: unknown) => {
    throw new Error(`${error instanceof Error ? error.message : String(error)}:\n${last.join("\n")}`);
  });

  const families = new Set(
    exprs.flatMap((expr) => namesIn(expr).metrics.map((metric) => familyOf(metric, exposition.types).family)),
  );
  t.diagnostic(`dashboard metric families: ${[...families].sort().join(", ")}`);
  assert.ok(families.size >= 10, `only ${families.size} metric families on the dashboard`);
});
