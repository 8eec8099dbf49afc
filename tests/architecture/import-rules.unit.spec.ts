// Holds the code to the architecture's import rules (scripts/architecture/import-rules.ts): first the
// engine on small in-memory projects, so each kind of rule is seen to fail when it should, then the
// repository itself.
import assert from "node:assert/strict";
import path from "node:path";
import { describe, test } from "node:test";
import {
  anotherAggregate,
  buildGraph,
  type ClosureRule,
  checkClosureRule,
  checkDirectRules,
  closureRules,
  type DirectRule,
  directRules,
  endingIn,
  formatViolations,
  loadProject,
  npmPackage,
  type Project,
  resolve,
  runtimeImports,
  under,
  type Violation,
} from "#scripts/architecture/import-rules.ts";

const root = path.resolve(import.meta.dirname, "..", "..");

function fixture(sources: Record<string, string>, otherFiles: string[] = []): Project {
  return {
    files: new Set([...Object.keys(sources), ...otherFiles]),
    sources: new Map(Object.entries(sources)),
    aliases: { "#shared/*": "./shared/*", "#functions/*": "./functions/*" },
  };
}

function assertNone(violations: readonly Violation[], what: string): void {
  if (violations.length === 0) return;
  const count = violations.length === 1 ? "1 import breaks" : `${violations.length} imports break`;
  assert.fail(`${count} ${what}:\n${formatViolations(violations)}`);
}

describe("runtimeImports", () => {
  const specifiers = (source: string) => runtimeImports(source).map((entry) => entry.specifier);

  test("finds static, side-effect, re-export and dynamic imports", () => {
    const source = [
      'import a from "a";',
      'import * as b from "b";',
      'import "c";',
      'export { d } from "d";',
      'export * from "e";',
      'export * as f from "f";',
      'const g = await import("g");',
    ].join("\n");
    assert.deepEqual(specifiers(source), ["a", "b", "c", "d", "e", "f", "g"]);
  });

  test("leaves out what type stripping erases", () => {
    const source = [
      'import type { A } from "a";',
      'import type * as B from "b";',
      'export type { C } from "c";',
      'import { type D, type E } from "d";',
      'export { type F } from "f";',
      'type G = typeof import("g");',
      'let h: import("h").H;',
      'import { type I, i } from "i";',
      'import j, { type J } from "j";',
    ].join("\n");
    assert.deepEqual(specifiers(source), ["i", "j"]);
  });

  test("is not fooled by import-like text in strings and comments", () => {
    const source = ['// import "a";', "const s = 'import \"b\"';", "/* export * from 'c' */", 'import "d";'].join("\n");
    assert.deepEqual(specifiers(source), ["d"]);
  });

  test("reports a template-literal import() as a glob and a computed one as unknown", () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the source under test holds a template literal
    const source = "const a = import(`./x/${name}.ts`);\nconst b = import(name);";
    assert.deepEqual(runtimeImports(source), [
      { specifier: "./x/*.ts", glob: true, dynamic: true },
      { specifier: undefined, glob: false, dynamic: true },
    ]);
  });

  test("throws on TypeScript that Node cannot strip", () => {
    assert.throws(() => runtimeImports("enum Colour { Red }"));
  });
});

describe("resolve", () => {
  const project = fixture({ "shared/platform/log.ts": "", "functions/a/b/c.ts": "" }, ["functions/a/x.json"]);

  test("maps package.json aliases and relative paths to repository files", () => {
    assert.deepEqual(resolve("services/s.ts", "#shared/platform/log.ts", project), [
      { kind: "file", path: "shared/platform/log.ts" },
    ]);
    assert.deepEqual(resolve("functions/a/b/c.ts", "../x.json", project), [
      { kind: "file", path: "functions/a/x.json" },
    ]);
  });

  test("names packages by their package name, subpath or scope included", () => {
    assert.deepEqual(resolve("x.ts", "drizzle-orm/pg-core", project), [
      { kind: "package", name: "drizzle-orm", specifier: "drizzle-orm/pg-core" },
    ]);
    assert.deepEqual(resolve("x.ts", "@confluentinc/kafka-javascript", project), [
      { kind: "package", name: "@confluentinc/kafka-javascript", specifier: "@confluentinc/kafka-javascript" },
    ]);
    assert.deepEqual(resolve("x.ts", "fs", project), [{ kind: "builtin", specifier: "fs" }]);
  });

  test("says what it looked for when nothing is there", () => {
    assert.deepEqual(resolve("shared/a.ts", "./nope.ts", project), [
      { kind: "missing", specifier: "./nope.ts", looked: "shared/nope.ts" },
    ]);
    assert.equal(resolve("x.ts", "#nope/a.ts", project)[0]?.kind, "missing");
  });
});

describe("direct rules", () => {
  const rules: DirectRule[] = [
    { name: "platform stands alone", folder: "shared/platform/", forbidden: [under("shared/write-side/")] },
    { name: "aggregates apart", folder: "functions/", forbidden: [anotherAggregate] },
  ];
  const check = (sources: Record<string, string>) => {
    const graph = buildGraph(fixture({ "shared/write-side/db.ts": "export const db = 1;", ...sources }));
    assertNone(graph.problems, "the fixture");
    return checkDirectRules(graph, rules);
  };

  test("reports a violating import as file -> target: rule", () => {
    const violations = check({ "shared/platform/log.ts": 'import { db } from "#shared/write-side/db.ts";' });
    assert.equal(
      formatViolations(violations),
      "shared/platform/log.ts -> shared/write-side/db.ts: platform stands alone (no shared/write-side/**)",
    );
  });

  test("does not count an import type", () => {
    assert.deepEqual(check({ "shared/platform/log.ts": 'import type { Db } from "../write-side/db.ts";' }), []);
  });

  test("counts a dynamic import", () => {
    const violations = check({ "shared/platform/log.ts": 'const m = await import("../write-side/db.ts");' });
    assert.deepEqual(
      violations.map((violation) => violation.target),
      ["shared/write-side/db.ts"],
    );
  });

  test("exempts test files, which may import anything", () => {
    assert.deepEqual(check({ "shared/platform/log.unit.spec.ts": 'import "#shared/write-side/db.ts";' }), []);
  });

  test("keeps each aggregate's functions to their own folder, the registry above them free", () => {
    const violations = check({
      "functions/a/a.ts": "export const a = 1;",
      "functions/a/f/f.ts": 'import { a } from "../a.ts";\nimport { b } from "#functions/b/b.ts";',
      "functions/b/b.ts": "export const b = 1;",
      "functions/registry.ts": 'import "./a/a.ts";\nimport "./b/b.ts";',
    });
    assert.deepEqual(
      violations.map((violation) => `${violation.file} -> ${violation.target}`),
      ["functions/a/f/f.ts -> functions/b/b.ts"],
    );
  });
});

describe("closure rules", () => {
  const rule: ClosureRule = {
    name: "gateway loads no store",
    entry: "services/gateway/main.ts",
    forbidden: [endingIn("-store.ts"), npmPackage("postgres")],
  };

  test("reports what the entry loads through other files, with the chain", () => {
    const graph = buildGraph(
      fixture({
        "services/gateway/main.ts": 'import "#functions/registry.ts";',
        "functions/registry.ts": 'import "./a/f.ts";',
        "functions/a/f.ts": 'import type { Row } from "./a-store.ts";\nimport "./a-fields.ts";',
        "functions/a/a-fields.ts": 'import sql from "postgres";\nconst s = () => import("./a-store.ts");',
        "functions/a/a-store.ts": 'import "postgres";',
        "functions/unreached.ts": 'import "postgres";',
      }),
    );
    const violations = checkClosureRule(graph, rule);
    assert.deepEqual(violations, [
      {
        file: "functions/a/a-fields.ts",
        target: "postgres",
        rule: "gateway loads no store (no the package postgres)",
        chain: ["services/gateway/main.ts", "functions/registry.ts", "functions/a/f.ts", "functions/a/a-fields.ts"],
      },
      {
        file: "functions/a/a-fields.ts",
        target: "functions/a/a-store.ts",
        rule: "gateway loads no store (no *-store.ts)",
        chain: ["services/gateway/main.ts", "functions/registry.ts", "functions/a/f.ts", "functions/a/a-fields.ts"],
      },
    ]);
    assert.match(formatViolations(violations), /\n {4}via services\/gateway\/main\.ts -> functions\/registry\.ts -> /);
  });

  test("follows a template-literal import() to every file it can match", () => {
    const graph = buildGraph(
      fixture({
        // biome-ignore lint/suspicious/noTemplateCurlyInString: the source under test holds a template literal
        "services/gateway/main.ts": "for (const n of names) await import(`#functions/${n}.ts`);",
        "functions/a.ts": "export {};",
        "functions/b-store.ts": "export {};",
      }),
    );
    assert.deepEqual(
      checkClosureRule(graph, rule).map((violation) => violation.target),
      ["functions/b-store.ts"],
    );
  });

  test("reports a computed import() it cannot follow", () => {
    const graph = buildGraph(fixture({ "services/gateway/main.ts": "await import(process.argv[2] ?? '');" }));
    assert.match(formatViolations(checkClosureRule(graph, rule)), /import\(<computed>\): .*cannot be followed/);
  });

  test("reports a file it cannot read and an import of nothing as problems", () => {
    const graph = buildGraph(
      fixture({ "a.unit.spec.ts": "namespace N { export const x = 1; }", "b.ts": 'import "./c.ts";' }),
    );
    assert.deepEqual(
      graph.problems.map((problem) => problem.file),
      ["a.unit.spec.ts", "b.ts"],
    );
  });
});

describe("the repository", () => {
  const graph = buildGraph(loadProject(root));

  test("every file type-strips and lexes, and every import resolves", () => {
    assertNone(graph.problems, "being read");
  });

  test("each side imports only what its side may", () => {
    assertNone(checkDirectRules(graph, directRules), "the side rules");
  });

  for (const rule of closureRules) {
    test(`${rule.entry}: ${rule.name}`, () => {
      assertNone(checkClosureRule(graph, rule), `"${rule.name}"`);
    });
  }
});
