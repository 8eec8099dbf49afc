// FerretDB's PostgreSQL URL: custom plans for its prepared statements (ferretdb.ts, withCustomPlans).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ferretdbArgs, withCustomPlans } from "./ferretdb.ts";

describe("withCustomPlans", () => {
  it("asks PostgreSQL for a custom plan on every run of a prepared statement", () => {
    const url = new URL(withCustomPlans("postgres://postgres@127.0.0.1:25433/ferretdb"));
    assert.equal(url.searchParams.get("plan_cache_mode"), "force_custom_plan");
    assert.equal(url.host, "127.0.0.1:25433");
    assert.equal(url.pathname, "/ferretdb");
    assert.equal(url.username, "postgres");
  });

  it("keeps the URL's other parameters, and its own plan_cache_mode if it sets one", () => {
    const url = new URL(withCustomPlans("postgres://u:p@db:5432/ferretdb?sslmode=disable&plan_cache_mode=auto"));
    assert.equal(url.searchParams.get("plan_cache_mode"), "auto");
    assert.equal(url.searchParams.get("sslmode"), "disable");
    assert.equal(url.password, "p");
  });

  it("is what the server is started with", () => {
    const args = ferretdbArgs(27117, "postgres://postgres@127.0.0.1:25433/ferretdb");
    assert.deepEqual(args, [
      "-listen-addr=127.0.0.1:27117",
      "-postgresql-url=postgres://postgres@127.0.0.1:25433/ferretdb?plan_cache_mode=force_custom_plan",
    ]);
  });
});
