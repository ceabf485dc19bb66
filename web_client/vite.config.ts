/// <reference types="vitest/config" />
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { brotliCompressSync, constants as zlib, gzipSync } from "node:zlib";
import { defineConfig, type Plugin } from "vite";
import react from "@vitejs/plugin-react";

// In development the SPA talks to the gateway, which owns every /api and /files route.
const gateway = process.env.ATELIER_GATEWAY_URL ?? "http://127.0.0.1:8000";

const COMPRESSIBLE = /\.(js|mjs|css|html|svg|json|txt|map|webmanifest)$/;
// Below this a compressed copy saves less than the headers it costs.
const MIN_BYTES = 1024;

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

/** Brotli and gzip copies beside each text file of the build, made once here at maximum
 * compression, so the gateway sends them as they are (services/gateway/app/api/routes/spa.py). */
function precompress(): Plugin {
  let outDir = "dist";
  return {
    name: "atelier-precompress",
    apply: "build",
    configResolved(config) {
      outDir = config.build.outDir;
    },
    closeBundle() {
      for (const path of filesUnder(outDir)) {
        if (!COMPRESSIBLE.test(path)) continue;
        const original = readFileSync(path);
        if (original.length < MIN_BYTES) continue;
        const copies: [string, Buffer][] = [
          [".br", brotliCompressSync(original, { params: { [zlib.BROTLI_PARAM_QUALITY]: zlib.BROTLI_MAX_QUALITY } })],
          [".gz", gzipSync(original, { level: 9 })],
        ];
        for (const [suffix, bytes] of copies) {
          if (bytes.length < original.length) writeFileSync(path + suffix, bytes);
        }
      }
    },
  };
}

export default defineConfig({
  plugins: [react(), precompress()],
  build: {
    outDir: "dist",
    assetsDir: "assets",
    sourcemap: false,
  },
  server: {
    proxy: {
      "/api": gateway,
      "/files": gateway,
    },
  },
  test: {
    environment: "happy-dom",
    setupFiles: ["./src/test/setup.ts"],
    include: ["src/**/*.test.{ts,tsx}"],
    restoreMocks: true,
  },
});
