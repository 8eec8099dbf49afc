// The one Node version the project runs on (the bootstrap downloads it; the Dockerfile's NODE_VERSION
// argument and package.json's engines name the same one: tests/infra/node-version.unit.spec.ts).
export const NODE_VERSION = "24.22.3";
