# syntax=docker/dockerfile:1
#
# One image definition for the three services; the build argument SERVICE picks which one the image
# is, and each image carries that service's code and packages only:
#   docker build --build-arg SERVICE=gateway -t cqrs-ts-gateway .    (compose.yaml does this per service)
# Targets:
#   runtime (the default, last stage)  node:${NODE_VERSION}-bookworm-slim, the service's bundle files, its externals, non-root
#   e2e                                 the sources with dev dependencies, runs tests/e2e against E2E_GATEWAY_URL

# The one Node version the project runs on: infra/node-version.mjs and package.json's engines name it
# too (a test fails when they disagree). Pinned, not a floating tag.
ARG NODE_VERSION=24.22.3

# ---------------------------------------------------------------------------------------------------
FROM node:${NODE_VERSION}-bookworm AS build

# @confluentinc/kafka-javascript builds librdkafka from source during `npm ci`. Linked dynamically
# against Debian's libraries (CKJS_LINKING=dynamic) because its bundled build would download zlib and
# OpenSSL itself; the runtime stage installs the matching shared libraries.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libssl-dev libsasl2-dev zlib1g-dev libzstd-dev liblz4-dev libcurl4-openssl-dev \
 && rm -rf /var/lib/apt/lists/*
# With network access its installer would fetch a prebuilt binary (bundling its own libraries) and
# ignore CKJS_LINKING; building from source keeps the image's client the same build as the local
# stack's, on Debian's (security-updated) OpenSSL. The image carries Node's headers under
# /usr/local/include/node, so node-gyp uses those instead of downloading them.
ENV CKJS_LINKING=dynamic \
    npm_config_build_from_source=@confluentinc/kafka-javascript \
    npm_config_nodedir=/usr/local

WORKDIR /app
# The manifests alone first, so the slow native build stays cached until a dependency changes.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY infra/dependency-patches.mjs infra/
RUN node infra/dependency-patches.mjs
COPY . .
RUN node scripts/bundle.ts

# ---------------------------------------------------------------------------------------------------
# What one service's image gets (SERVICE from here on): `node scripts/bundle.ts stage` lays out in
# /runtime the files of dist/ that service runs (its entry, its telemetry preload and the chunks they
# import, read from esbuild's metafile), drizzle/ for the writer, and package.json cut down to that
# service's EXTERNALS (scripts/bundle.ts). `npm prune` against that manifest then removes from the
# build stage's tree everything the service does not need: the bundled packages, all dev
# dependencies, and every other service's externals, so the gateway's tree has no Kafka client and no
# database driver. Pruning (rather than a fresh `npm ci --omit=dev`) keeps the native Kafka client
# built once for the writer and the reader. Last, librdkafka's source tree, static archives and
# object files go (build inputs only, about 260 MB; absent from the gateway's tree anyway): the addon
# needs just build/Release/*.node and build/deps/librdkafka*.so.1.
FROM build AS runtime-files
ARG SERVICE
RUN node scripts/bundle.ts stage "${SERVICE}" /runtime \
 && cp /runtime/package.json package.json \
 && npm prune --omit=dev --no-audit --no-fund \
 && rm -rf node_modules/@confluentinc/kafka-javascript/deps/librdkafka \
           node_modules/@confluentinc/kafka-javascript/build/deps/*.a \
           node_modules/@confluentinc/kafka-javascript/build/Release/obj.target

# ---------------------------------------------------------------------------------------------------
# The end-to-end suite against a running gateway (compose: `docker compose --profile test run --rm e2e`).
# The tests start no services of their own when E2E_GATEWAY_URL is set.
FROM build AS e2e
# The docs page test drives Debian's headless Chromium (no browser download); the fuzz test installs
# schemathesis into a Python virtual environment (python3-venv) on its first run.
RUN apt-get update \
 && apt-get install -y --no-install-recommends chromium python3-venv \
 && rm -rf /var/lib/apt/lists/*
ENV E2E_GATEWAY_URL=http://gateway-e2e:8080
# The docs page test keeps its screenshot in .local/; the rest of /app stays root's, read-only to node.
RUN mkdir -p /app/.local && chown node:node /app/.local
# The keys volume (compose.yaml): the tests mint their tokens with the local issuer's key in it.
RUN mkdir -p /keys && chown node:node /keys
USER node
# A glob, not the folder: `node --test tests/e2e/` on Node 24 tries to load the folder as a module.
CMD ["node", "--test", "--test-concurrency=1", "tests/e2e/**/*.spec.ts"]

# ---------------------------------------------------------------------------------------------------
FROM node:${NODE_VERSION}-bookworm-slim AS runtime
# Every layer of this stage differs per service, so the argument comes first.
ARG SERVICE

# ca-certificates for TLS to OTLP endpoints (and managed brokers); the writer and the reader also get
# the shared libraries librdkafka was linked against in the build stage (the -dev packages' runtime
# halves). The gateway has no Kafka client, so it gets none of them.
RUN case "${SERVICE}" in \
      gateway) libraries="" ;; \
      writer|reader) libraries="libssl3 libsasl2-2 zlib1g libzstd1 liblz4-1 libcurl4" ;; \
      *) echo "build argument SERVICE must be gateway, writer or reader (got '${SERVICE}')" >&2; exit 1 ;; \
    esac \
 && apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates ${libraries} \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
ENV NODE_ENV=production
# The pruned node_modules, then the staged files: the cut package.json (its "type": "module" makes
# Node load dist/*.js as ES modules), the service's files of dist/ and, for the writer, the
# migrations it applies at start.
COPY --from=runtime-files /app/node_modules ./node_modules
COPY --from=runtime-files /runtime/ ./
# Fail the build, not the first request, if an external does not load on this image (a missing
# shared library shows up here), or if the service's entry or preload is missing.
RUN node --input-type=module -e ' \
      import fs from "node:fs"; \
      const { dependencies } = JSON.parse(fs.readFileSync("package.json", "utf8")); \
      for (const name of Object.keys(dependencies)) await import(name); \
    ' \
 && test -f "dist/${SERVICE}.js" && test -f "dist/preload-${SERVICE}.js"
ENV SERVICE=${SERVICE}
# Where compose mounts the keys volume (AUTH_KEYS_DIR): owned by node, so a fresh volume takes it.
RUN mkdir -p /keys && chown node:node /keys

USER node
# Exec form cannot expand variables, so a shell does and then replaces itself with node: node stays
# the process that receives SIGTERM (compose adds an init as PID 1 in front of it). The service's
# preload starts OpenTelemetry before the service's modules load; the service name comes from
# OTEL_SERVICE_NAME (compose sets it), else it is the service's own. The V8 flags are
# services/launch.ts's NODE_FLAGS (a small young generation; tests/bundle checks they agree).
CMD ["sh", "-c", "exec node --max-semi-space-size=8 --expose-gc --enable-source-maps --import \"./dist/preload-${SERVICE}.js\" \"dist/${SERVICE}.js\""]
