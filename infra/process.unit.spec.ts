// A failed tool run explains itself in its first line: what failed and the likely cause.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type InfraError, runLongTool, runTool } from "./process.ts";

/** A shell command that prints `output` to stderr and fails, like a build without network. */
const failing = (output: string) => ["-c", `printf '%s\\n' "$1" >&2; exit 1`, "sh", output];

describe("a failed build or download", () => {
  it("names what failed and the network as the likely cause on its first line, then the output", () => {
    const output =
      'go: github.com/x/y@v1: Get "https://proxy.golang.org/...": dial tcp: lookup proxy.golang.org: no such host';
    assert.throws(
      () => runTool("sh", failing(output), { what: "go build of ferretdb", source: "the Go module proxy" }),
      (error: InfraError) => {
        const [first, ...rest] = error.message.split("\n");
        assert.equal(
          first,
          "go build of ferretdb failed (exit 1), likely because no network, or the Go module proxy is unreachable; the end of its output:",
        );
        assert.deepEqual(rest, [output]);
        return true;
      },
    );
  });

  it("says which Go is needed when GOTOOLCHAIN=local forbids fetching it", async () => {
    const output = "go: go.mod requires go >= 1.26 (running go 1.24.1; GOTOOLCHAIN=local)";
    await assert.rejects(runLongTool("sh", failing(output), { what: "go build of jaeger" }), (error: InfraError) => {
      assert.match(error.message, /^go build of jaeger failed \(exit 1\), likely because it needs Go 1\.26, [^\n]*\n/);
      return true;
    });
  });

  it("blames the network only for a step that downloads", () => {
    assert.throws(() => runTool("sh", failing("connection refused"), { what: "initdb" }), {
      message: "initdb failed (exit 1); the end of its output:\nconnection refused",
    });
  });

  it("without a known cause still says what failed on the first line", async () => {
    const output = "[ERROR] something else";
    await assert.rejects(
      runLongTool("sh", failing(output), { what: "collecting Kafka's jars with Maven", source: "Maven Central" }),
      { message: `collecting Kafka's jars with Maven failed (exit 1); the end of its output:\n${output}` },
    );
  });
});
