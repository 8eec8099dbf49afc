// Records which modules a process actually loads, for the tests that prove each service loads only
// its own code (tests/architecture/loaded-modules.int.spec.ts). Loaded first, with
// `node --import ./tests/support/record-loaded-modules.ts --import <telemetry preload> <entry>`, and
// active only when RECORD_LOADED_MODULES names the file to write.
//
// module.registerHooks hooks run in the loading thread for ES module imports (static and dynamic)
// and CommonJS require alike, so nothing a service loads escapes them. A module is recorded when it
// is loaded (the load hook), not merely resolved: require.resolve of a package's file is no load.
// `import type` never reaches here, since Node strips types before it resolves anything. Hooks
// registered later run first and call on to this one, so a hook that wraps modules still leads
// here with their real URLs.
//
// On exit the list is appended to the file as JSON lines, { url, parent }: `parent` is the module
// whose import first resolved to `url`, so a failing test can say how a forbidden module came in.
// process.exit (which the services call after SIGTERM) runs "exit" listeners; a SIGKILL leaves no list.
import fs from "node:fs";
import { registerHooks } from "node:module";

export const RECORD_ENV = "RECORD_LOADED_MODULES";

/** One line of the file. */
export interface LoadedModule {
  url: string;
  parent?: string;
}

/** A URL without its query and fragment: a loader that wraps a module may mark its URL with one. */
function plain(url: string): string {
  return url.replace(/[?#].*$/, "");
}

const file = process.env[RECORD_ENV];
if (file) {
  const parents = new Map<string, string>();
  const loaded = new Map<string, LoadedModule>();
  registerHooks({
    resolve(specifier, context, nextResolve) {
      const resolved = nextResolve(specifier, context);
      const url = plain(resolved.url);
      if (context.parentURL && !parents.has(url)) parents.set(url, plain(context.parentURL));
      return resolved;
    },
    load(url, context, nextLoad) {
      const key = plain(url);
      if (!loaded.has(key)) loaded.set(key, { url: key, parent: parents.get(key) });
      return nextLoad(url, context);
    },
  });
  // Appended, not overwritten: a worker thread runs this module too (execArgv is inherited) and adds
  // what it loaded when it exits.
  process.on("exit", () => {
    fs.appendFileSync(file, [...loaded.values()].map((entry) => `${JSON.stringify(entry)}\n`).join(""));
  });
}
