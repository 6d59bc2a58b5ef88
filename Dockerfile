# syntax=docker/dockerfile:1
# Fabric guild node. Build: docker build -t fabric-guild .
# Run (all-in-one):  docker run -p 7002:7002 -v fabric-data:/app/data \
#   -e FABRIC_BACKEND_GUILD_CENTER_BASE_URL=… -e FABRIC_BACKEND_GUILD_CENTER_API_KEY=… \
#   -e FABRIC_BACKEND_GUILD_NODE_ID=… fabric-guild
# Split mode: same image, command `node dist/api.js` or `node dist/realtime.js` (see README.md).

# --- build: install with dev dependencies, bundle, then drop dev dependencies -------------
FROM node:22-bookworm-slim AS build
WORKDIR /app
# Toolchain for native modules (better-sqlite3) when no prebuilt binary matches.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsup.config.ts ./
COPY handlers ./handlers
COPY lib ./lib
COPY realtime ./realtime
COPY scripts ./scripts
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

# --- runtime: bundles + production node_modules, non-root ---------------------------------
FROM node:22-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# SQLite file and uploaded files (defaults ./data/guild.sqlite and ./data/files) live here.
RUN mkdir -p /app/data && chown node:node /app/data
VOLUME ["/app/data"]
USER node
EXPOSE 7002
# Probes /api/health on the API port or /health on the realtime port, whichever shape the
# container runs (all-in-one and API processes answer the first, realtime processes the second).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "const e = process.env, ok = (u) => fetch(u).then((r) => (r.ok ? true : Promise.reject())); Promise.any([ok('http://127.0.0.1:' + (e.FABRIC_BACKEND_GUILD_PORT || 7002) + '/api/health'), ok('http://127.0.0.1:' + (e.FABRIC_BACKEND_GUILD_REALTIME_PORT || 7012) + '/health')]).then(() => process.exit(0), () => process.exit(1))"]
CMD ["node", "dist/main.js"]
