// `npm run trace -- <trace-id> | --last [--service gateway]`: prints one trace from the local Jaeger's
// query API as an indented timeline (span tree by parent, offsets, durations, services, the key
// attributes). The Jaeger built from the Go module proxy has no web UI, so this is how traces are
// read locally; every gateway response carries the id in `X-Trace-Id`, every log line in `trace_id`.
// The parsing, tree and formatting are exported for the tests (and for tests that assert on traces).
import { styleText } from "node:util";
import * as v from "valibot";
import { ConfigError, loadConfig } from "#shared/platform/config.ts";
import { parseCommandLine } from "./command-line.ts";

// Jaeger's JSON (the v1 query API, which Jaeger v2 still serves): times and durations in microseconds.
const TagSchema = v.object({
  key: v.string(),
  type: v.optional(v.string()),
  value: v.union([v.string(), v.number(), v.boolean()]),
});
const orEmpty = <T extends v.GenericSchema>(item: T) => v.nullish(v.array(item), []);

const SpanSchema = v.object({
  traceID: v.string(),
  spanID: v.string(),
  operationName: v.string(),
  references: orEmpty(v.object({ refType: v.string(), traceID: v.string(), spanID: v.string() })),
  startTime: v.number(),
  duration: v.number(),
  tags: orEmpty(TagSchema),
  logs: orEmpty(v.object({ timestamp: v.number(), fields: orEmpty(TagSchema) })),
  processID: v.string(),
  warnings: orEmpty(v.string()),
});

const TraceSchema = v.object({
  traceID: v.string(),
  spans: v.array(SpanSchema),
  processes: v.record(v.string(), v.object({ serviceName: v.string(), tags: orEmpty(TagSchema) })),
  warnings: orEmpty(v.string()),
});

const ResponseSchema = v.object({
  data: orEmpty(TraceSchema),
  errors: orEmpty(v.object({ code: v.optional(v.number()), msg: v.string() })),
});

export type JaegerSpan = v.InferOutput<typeof SpanSchema>;
export type JaegerTrace = v.InferOutput<typeof TraceSchema>;
type TagValue = string | number | boolean;

/** A Jaeger query API answer as traces; throws on anything else (a proxy's HTML page, another API). */
export function parseJaegerResponse(json: unknown): { traces: JaegerTrace[]; errors: string[] } {
  const parsed = v.safeParse(ResponseSchema, json);
  if (!parsed.success) {
    const issue = parsed.issues[0];
    const where = issue ? v.getDotPath(issue) : undefined;
    throw new Error(`unexpected answer from Jaeger (${where ? `${where}: ` : ""}${issue?.message ?? "invalid"})`);
  }
  return { traces: parsed.output.data, errors: parsed.output.errors.map((e) => e.msg) };
}

export const tagValue = (span: JaegerSpan, key: string): TagValue | undefined =>
  span.tags.find((tag) => tag.key === key)?.value;

/** server, client, producer, consumer or internal (OpenTelemetry's span kind). */
export const spanKind = (span: JaegerSpan): string => String(tagValue(span, "span.kind") ?? "internal");

export const serviceOf = (trace: JaegerTrace, span: JaegerSpan): string =>
  trace.processes[span.processID]?.serviceName ?? span.processID;

/** The parent span's id (OpenTelemetry spans have at most one CHILD_OF reference). */
export function parentId(span: JaegerSpan): string | undefined {
  const parent = span.references.find((ref) => ref.refType === "CHILD_OF") ?? span.references[0];
  return parent?.spanID;
}

export interface SpanNode {
  span: JaegerSpan;
  service: string;
  children: SpanNode[];
  /** Its parent is referenced but not in the trace (not exported yet, or dropped). */
  orphan: boolean;
}

/** The spans as trees by parent, roots and children ordered by start time. */
export function buildTree(trace: JaegerTrace): SpanNode[] {
  const byStart = [...trace.spans].sort((a, b) => a.startTime - b.startTime || a.spanID.localeCompare(b.spanID));
  const nodes = new Map<string, SpanNode>();
  for (const span of byStart) {
    nodes.set(span.spanID, { span, service: serviceOf(trace, span), children: [], orphan: false });
  }
  const roots: SpanNode[] = [];
  for (const node of nodes.values()) {
    const parent = parentId(node.span);
    const parentNode = parent === undefined ? undefined : nodes.get(parent);
    if (parentNode && parentNode !== node) parentNode.children.push(node);
    else {
      node.orphan = parent !== undefined;
      roots.push(node);
    }
  }
  // Spans in a reference cycle (corrupt data) are reachable from no root: show them as roots too.
  const reached = new Set<SpanNode>();
  const walk = (node: SpanNode): void => {
    if (reached.has(node)) return;
    reached.add(node);
    for (const child of node.children) walk(child);
  };
  for (const root of roots) walk(root);
  for (const node of nodes.values()) {
    if (reached.has(node)) continue;
    const parent = nodes.get(parentId(node.span) ?? "");
    if (parent) parent.children = parent.children.filter((child) => child !== node);
    node.orphan = true;
    roots.push(node);
    walk(node);
  }
  return roots;
}

/** Collapses whitespace and cuts to `max` characters with an ellipsis. */
export function shorten(text: string, max: number): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length <= max ? flat : `${flat.slice(0, max - 1)}…`;
}

/** The span's failure, if it has one: its status description, else its exception's message. */
export function spanError(span: JaegerSpan): string | undefined {
  const failed = tagValue(span, "otel.status_code") === "ERROR" || tagValue(span, "error") === true;
  if (!failed) return undefined;
  const description = tagValue(span, "otel.status_description");
  if (description !== undefined && description !== "") return String(description);
  for (const log of span.logs) {
    const message = log.fields.find((field) => field.key === "exception.message")?.value;
    if (message !== undefined) return String(message);
  }
  return "error";
}

/** The attributes worth reading in a timeline, as `key=value` in a fixed order. */
export function keyAttributes(span: JaegerSpan, queryMax = 80): string[] {
  const out: string[] = [];
  const add = (key: string, show: (value: TagValue) => string = String) => {
    const value = tagValue(span, key);
    if (value !== undefined) out.push(`${key}=${show(value)}`);
  };
  add("http.route");
  add("http.response.status_code");
  add("rpc.method");
  add("rpc.status_code");
  add("db.system.name");
  add("messaging.destination.name");
  add("cache.hit");
  add("cqrs.projection.outcome");
  // Last, unquoted: it is the longest and often has quotes of its own.
  add("db.query.text", (text) => shorten(String(text), queryMax));
  return out;
}

/** Microseconds as a short human duration (sub-millisecond ones with two decimals). */
export function formatMicros(us: number, fine = true): string {
  if (fine && us < 1000) return `${(us / 1000).toFixed(2)} ms`;
  if (us < 10_000_000) return `${(us / 1000).toFixed(1)} ms`;
  return `${(us / 1_000_000).toFixed(2)} s`;
}

export interface FormatOptions {
  /** ANSI colours (a terminal that has them). */
  color: boolean;
  /** Characters of the timeline bar. */
  barWidth?: number;
  /** The line width attribute lines are fitted to, by shortening the query text (default 140). */
  width?: number;
}

type Style = Parameters<typeof styleText>[0];
const SERVICE_COLORS: Style[] = ["cyan", "magenta", "yellow", "green", "blue", "red"];

/** The trace as lines of text: a summary, then one line per span (and one of attributes if it has any). */
export function formatTrace(trace: JaegerTrace, options: FormatOptions): string {
  const paint = (style: Style, text: string) =>
    options.color ? styleText(style, text, { validateStream: false }) : text;
  const barWidth = options.barWidth ?? 24;
  const roots = buildTree(trace);
  if (trace.spans.length === 0) return `trace ${trace.traceID}: no spans`;

  const start = Math.min(...trace.spans.map((s) => s.startTime));
  const end = Math.max(...trace.spans.map((s) => s.startTime + s.duration));
  const total = Math.max(end - start, 1);

  // Services in order of their first span, each with its own colour.
  const services: string[] = [];
  const spansPerService = new Map<string, number>();
  for (const span of [...trace.spans].sort((a, b) => a.startTime - b.startTime)) {
    const service = serviceOf(trace, span);
    if (!services.includes(service)) services.push(service);
    spansPerService.set(service, (spansPerService.get(service) ?? 0) + 1);
  }
  const serviceWidth = Math.max(7, ...services.map((s) => s.length));
  const serviceColor = (service: string) => SERVICE_COLORS[services.indexOf(service) % SERVICE_COLORS.length] ?? "cyan";
  const errors = trace.spans.filter((span) => spanError(span) !== undefined).length;

  const lines: string[] = [];
  const rootNames = roots.map((r) => r.span.operationName).join(", ");
  lines.push(`${paint("bold", `trace ${trace.traceID}`)}  ${rootNames}`);
  lines.push(
    [
      `started ${new Date(start / 1000).toISOString().replace("T", " ").replace("Z", " UTC")}`,
      formatMicros(total),
      `${trace.spans.length} spans`,
      services.map((s) => `${paint(serviceColor(s), s)} ${spansPerService.get(s)}`).join(", "),
      ...(errors > 0 ? [paint("red", `${errors} with errors`)] : []),
    ].join(" · "),
  );
  lines.push("");

  const gutter = " ".repeat(9 + 1 + 9 + 2 + barWidth + 2 + serviceWidth + 2);
  lines.push(
    paint(
      "dim",
      `${"start".padStart(9)} ${"duration".padStart(9)}  ${`0 … ${formatMicros(total)}`.padEnd(barWidth)}  ${"service".padEnd(serviceWidth)}  span`,
    ),
  );

  const bar = (span: JaegerSpan): string => {
    const from = Math.min(barWidth - 1, Math.floor(((span.startTime - start) / total) * barWidth));
    const to = Math.max(
      from + 1,
      Math.min(barWidth, Math.ceil(((span.startTime + span.duration - start) / total) * barWidth)),
    );
    return paint("dim", "·".repeat(from)) + "█".repeat(to - from) + paint("dim", "·".repeat(barWidth - to));
  };

  const emit = (node: SpanNode, prefix: string, connector: string, continuation: string): void => {
    const { span } = node;
    const error = spanError(span);
    const name = error ? paint("red", span.operationName) : paint("bold", span.operationName);
    const notes = [
      paint("dim", spanKind(span)),
      ...(node.orphan ? [paint("yellow", `(parent ${parentId(span)} not in trace)`)] : []),
      ...(error ? [paint("red", `ERROR ${shorten(error, 100)}`)] : []),
    ];
    lines.push(
      [
        formatMicros(span.startTime - start, false).padStart(9),
        formatMicros(span.duration).padStart(9),
        "",
        bar(span),
        "",
        paint(serviceColor(node.service), node.service.padEnd(serviceWidth)),
        "",
        `${paint("dim", prefix + connector)}${name}  ${notes.join("  ")}`,
      ].join(" "),
    );
    const below = prefix + continuation;
    const guide = below + (node.children.length > 0 ? "│ " : "  ");
    // The query text gets what is left of the line (but always some of it).
    const others = keyAttributes(span, 0).filter((a) => !a.startsWith("db.query.text="));
    const used = gutter.length + guide.length + others.join("  ").length + "  db.query.text=".length;
    const attributes = keyAttributes(span, Math.max(24, (options.width ?? 140) - used));
    if (attributes.length > 0) lines.push(`${gutter}${paint("dim", guide + attributes.join("  "))}`);
    node.children.forEach((child, index) => {
      const last = index === node.children.length - 1;
      emit(child, below, last ? "└─ " : "├─ ", last ? "   " : "│  ");
    });
  };
  for (const root of roots) emit(root, "", "", "");

  // Jaeger flags a child that lies outside its parent's time as clock skew; here all services share
  // one clock and the relay's send span comes after its transaction by design: not worth a line.
  const warnings = [...trace.warnings, ...trace.spans.flatMap((s) => s.warnings)].filter(
    (warning) => !warning.startsWith("clock skew adjustment"),
  );
  if (warnings.length > 0) {
    lines.push("");
    for (const warning of new Set(warnings)) lines.push(paint("yellow", `jaeger: ${warning}`));
  }
  return lines.join("\n");
}

export class TraceLookupError extends Error {
  override name = "TraceLookupError";
}

async function getJson(url: string): Promise<{ status: number; json: unknown }> {
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(5000) });
  } catch (error) {
    const cause = error instanceof Error && error.cause instanceof Error ? error.cause.message : String(error);
    throw new TraceLookupError(
      `Jaeger is not reachable at ${new URL(url).origin} (${cause}); start it with \`npm run infra -- up jaeger\``,
    );
  }
  const text = await response.text();
  try {
    return { status: response.status, json: JSON.parse(text) };
  } catch {
    throw new TraceLookupError(`unexpected answer from ${url}: HTTP ${response.status} ${shorten(text, 80)}`);
  }
}

/** One trace by id, or undefined if Jaeger does not have it (yet: spans arrive in batches). */
export async function fetchTrace(queryUrl: string, traceId: string): Promise<JaegerTrace | undefined> {
  const { status, json } = await getJson(`${queryUrl}/api/traces/${encodeURIComponent(traceId)}`);
  if (status === 404) return undefined;
  const { traces, errors } = parseJaegerResponse(json);
  if (status !== 200) throw new TraceLookupError(`Jaeger answered ${status}: ${errors.join("; ") || "no detail"}`);
  return traces.find((trace) => trace.traceID === traceId) ?? traces[0];
}

/** The most recent trace with a span of `service` (Jaeger's search order is not strictly by time). */
export async function fetchLastTrace(queryUrl: string, service: string): Promise<JaegerTrace | undefined> {
  const { status, json } = await getJson(`${queryUrl}/api/traces?service=${encodeURIComponent(service)}&limit=20`);
  const { traces, errors } = parseJaegerResponse(json);
  if (status !== 200) throw new TraceLookupError(`Jaeger answered ${status}: ${errors.join("; ") || "no detail"}`);
  if (traces.length === 0) {
    const services = await listServices(queryUrl);
    if (!services.includes(service)) {
      throw new TraceLookupError(
        `Jaeger has no traces of service '${service}'${services.length > 0 ? ` (it has: ${services.join(", ")})` : " (it has none yet)"}; services send spans in batches, every 5 s: try again in a few seconds`,
      );
    }
    return undefined;
  }
  const startOf = (trace: JaegerTrace) => Math.min(...trace.spans.map((span) => span.startTime));
  return traces.reduce((latest, trace) => (startOf(trace) > startOf(latest) ? trace : latest));
}

async function listServices(queryUrl: string): Promise<string[]> {
  const { json } = await getJson(`${queryUrl}/api/services`);
  const parsed = v.safeParse(v.object({ data: orEmpty(v.string()) }), json);
  return parsed.success ? parsed.output.data : [];
}

const USAGE = `usage: npm run trace -- <trace-id>            a trace by id (X-Trace-Id header, trace_id in logs)
       npm run trace -- --last [--service S]   the most recent trace of service S (default gateway)
options: --no-color; -h, --help this text`;

async function main(): Promise<number> {
  const { values, positionals } = parseCommandLine("trace", USAGE, {
    allowPositionals: true,
    options: {
      last: { type: "boolean", default: false },
      service: { type: "string" },
      "no-color": { type: "boolean", default: false },
    },
  });
  const [id, ...extra] = positionals;
  if (extra.length > 0 || (values.last ? id !== undefined : id === undefined)) {
    console.error(`trace: give either one trace id or --last\n${USAGE}`);
    return 2;
  }
  if (values.service !== undefined && !values.last) {
    console.error(`trace: --service goes with --last\n${USAGE}`);
    return 2;
  }
  if (id !== undefined && !/^[0-9a-f]{1,32}$/i.test(id)) {
    console.error(`trace: '${id}' is not a trace id (up to 32 hex digits, as in X-Trace-Id or trace_id)`);
    return 2;
  }
  const queryUrl = loadConfig().jaeger.queryUrl;
  const service = values.service ?? "gateway";
  const trace =
    id !== undefined ? await fetchTrace(queryUrl, id.toLowerCase()) : await fetchLastTrace(queryUrl, service);
  if (!trace) {
    console.error(
      id !== undefined
        ? `trace: Jaeger at ${queryUrl} has no trace ${id} (spans are exported every few seconds, and the local Jaeger keeps them in memory only: a restart forgets them)`
        : `trace: Jaeger at ${queryUrl} has no recent trace of service '${service}'`,
    );
    return 1;
  }
  const terminal = process.stdout.isTTY;
  const color = !values["no-color"] && terminal && process.stdout.hasColors();
  console.log(formatTrace(trace, { color, width: terminal ? Math.max(100, process.stdout.columns) : 160 }));
  return 0;
}

if (import.meta.main) {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      const known = error instanceof TraceLookupError || error instanceof ConfigError;
      console.error(`trace: ${known || error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    },
  );
}
