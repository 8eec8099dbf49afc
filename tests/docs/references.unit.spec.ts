// Holds README.md and docs/ to the repository (tests/docs/references.ts): every path, npm script,
// environment variable and metric they mention in code or links must exist. First the checker on an
// in-memory document, so it is seen to fail when it should; then the real documents.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { describe, test } from "node:test";
import {
  anchorOf,
  checkDocument,
  citationsIn,
  documentsOf,
  type Finding,
  formatFinding,
  loadRepository,
  type Repository,
  sectionOf,
  snippetsOf,
} from "./references.ts";

const root = path.resolve(import.meta.dirname, "..", "..");

describe("the checker", () => {
  const repository: Repository = {
    files: new Set([
      ...["package.json", "shared/write-side/outbox.ts", "infra/ferretdb/go.mod", ".ci/run"],
      "otel/grafana/dashboards/cqrs.json",
    ]),
    folders: new Set([
      "shared",
      "shared/write-side",
      "infra",
      "infra/ferretdb",
      ".ci",
      "otel",
      "otel/grafana",
      "otel/grafana/dashboards",
    ]),
    scripts: new Set(["test", "infra"]),
    codeWords: new Set(["POSTGRES_URL", "DEBUG"]),
    metrics: new Set(["cqrs.outbox.backlog", "http.server.request.duration"]),
    attributes: new Set(["cqrs.projection.outcome"]),
    dashboard: new Set(["cqrs_outbox_backlog"]),
    citations: [],
  };
  const check = (markdown: string) =>
    checkDocument("docs/made-up.md", markdown, repository).map(({ line, kind, missing }) => ({ line, kind, missing }));

  test("reports a made-up path, script, variable and metric, with their lines", () => {
    const markdown = [
      "# Made up",
      "",
      "The relay lives in `shared/write-side/relay.ts`; run `npm run relay -- now` with `CQRS_RELAY_SPEED=2`,",
      "then watch `cqrs.relay.speed` (Prometheus: `cqrs_relay_speed_total`).",
      "",
      "```sh",
      "npm start",
      "```",
      "See [the outbox](../shared/write-side/outbx.ts) and [below](#nowhere).",
    ].join("\n");
    assert.deepEqual(check(markdown), [
      { line: 3, kind: "path", missing: "shared/write-side/relay.ts" },
      { line: 3, kind: "script", missing: "relay" },
      { line: 3, kind: "variable", missing: "CQRS_RELAY_SPEED" },
      { line: 4, kind: "metric", missing: "cqrs.relay.speed" },
      { line: 4, kind: "metric", missing: "cqrs_relay_speed_total" },
      { line: 7, kind: "script", missing: "start" },
      { line: 9, kind: "path", missing: "shared/write-side/outbx.ts" },
      { line: 9, kind: "anchor", missing: "#nowhere" },
    ]);
  });

  test("accepts what exists, in every form a document writes it", () => {
    const markdown = [
      "# Made up",
      "`shared/write-side/outbox.ts`, `shared/write-side/`, `go.mod`, `.ci/run`, `npm test -- products`,",
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell parameter expansion, as a document writes it
      "`npm run infra -- up`, `POSTGRES_URL`, `DEBUG=1`, `${XDG_CACHE_HOME:-~/.cache}`, `OTEL_TRACES_SAMPLER`,",
      "`cqrs.outbox.backlog`, `cqrs_outbox_backlog`, `http_server_request_duration_seconds_bucket`,",
      "`cqrs.projection.outcome` (label `cqrs_projection_outcome`), [up](#made-up), [file](../.ci/run),",
      "`otel/grafana/dashboards/cqrs.json` and `cqrs.json`, which are files, not metrics.",
      "A code span may run over",
      "a line break: `shared/write-side/",
      "outbox.ts` is one.",
    ].join("\n");
    assert.deepEqual(check(markdown), []);
  });

  test("skips what is outside the repository by design, and placeholders", () => {
    const markdown = [
      "`.local/logs/<server>.log`, `.local/`, `dist/`, `node_modules/.bin`, `~/.cache/cqrs-ts/`, `/var/tmp/x.ts`,",
      "`functions/<agg>/<agg>-store.ts`, `*.unit.spec.ts`, `-store.ts`, `npm run <name>`, `npm ci`,",
      "`*_HTTP_PORT`, `messaging.*`, `http/json`, `application/problem+json`, `cache.hit`, `E11000`,",
      "[a site](https://example.com/a.ts), and outside code: shared/nowhere.ts, npm run nothing, NO_SUCH_VAR.",
      "```mermaid",
      "flowchart LR",
      "  A[shared/nowhere.ts] --> B",
      "```",
    ].join("\n");
    assert.deepEqual(check(markdown), []);
  });

  test("expands a|b|c alternatives in a path", () => {
    assert.deepEqual(check("`shared/write-side|read-side/`"), [
      { line: 1, kind: "path", missing: "shared/read-side/" },
    ]);
  });

  test("names the document, the line and the missing thing", () => {
    const finding: Finding = { document: "README.md", line: 12, kind: "variable", missing: "NO_SUCH_VAR" };
    assert.match(formatFinding(finding), /^README\.md:12: variable NO_SUCH_VAR: /);
  });

  test("finds citations of docs/architecture.md sections, wrapped or not", () => {
    const source = [
      '// Why (docs/architecture.md, "Events").',
      '// More (docs/architecture.md, "The local',
      '// stack and compose"), and (design.md §5).',
    ].join("\n");
    assert.deepEqual(
      citationsIn("x.ts", source).map(({ line, document, section }) => ({ line, document, section })),
      [
        { line: 1, document: "docs/architecture.md", section: "Events" },
        { line: 2, document: "docs/architecture.md", section: "The local stack and compose" },
        { line: 3, document: "design.md", section: "§5" },
      ],
    );
    assert.equal(sectionOf("3. Events"), "Events");
  });

  test("makes GitHub's heading anchors", () => {
    assert.equal(anchorOf("The local stack: `npm run infra`"), "the-local-stack-npm-run-infra");
    assert.equal(anchorOf("7. How to add a function"), "7-how-to-add-a-function");
  });
});

describe("the repository's documents", () => {
  const repository = loadRepository(root);

  test("the checker finds what the code creates (so a rename cannot silence it)", () => {
    for (const metric of ["http.server.request.duration", "cqrs.outbox.backlog", "nodejs.eventloop.delay.p99"]) {
      assert.ok(repository.metrics.has(metric), `${metric} is not found among the metrics the code creates`);
    }
    assert.ok(repository.attributes.has("cqrs.projection.outcome"));
    assert.ok(repository.dashboard.has("cqrs_projection_events_total"));
    assert.ok(repository.codeWords.has("POSTGRES_URL") && repository.scripts.has("test"));
  });

  const documents = documentsOf(repository);

  test("README.md and docs/architecture.md are read", () => {
    assert.ok(documents.includes("README.md") && documents.includes("docs/architecture.md"), documents.join(", "));
  });

  test("code comments cite sections of docs/architecture.md that exist, and no design.md", () => {
    const { headings } = snippetsOf(fs.readFileSync(path.join(root, "docs", "architecture.md"), "utf8"));
    const sections = new Set(headings.map(sectionOf));
    const lines = repository.citations.flatMap(({ file, line, document, section }) => {
      if (document === "design.md") return [`${file}:${line}: design.md ${section} is not in the repository`];
      return sections.has(section) ? [] : [`${file}:${line}: docs/architecture.md has no section "${section}"`];
    });
    assert.deepEqual(lines, [], `sections of docs/architecture.md: ${[...sections].join(", ")}`);
  });

  for (const document of documents) {
    test(`${document} mentions only what exists`, () => {
      const markdown = fs.readFileSync(path.join(root, document), "utf8");
      const findings = checkDocument(document, markdown, repository);
      if (findings.length > 0)
        assert.fail(`${findings.length} broken references:\n${findings.map(formatFinding).join("\n")}`);
    });
  }
});
