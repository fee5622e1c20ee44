// Builds what runs: each test file as one ES module for Node (packages stay external), and
// the web page's script for browsers. Type checking is `npm run check`; esbuild only strips.
import { readdirSync } from "node:fs";
import { build } from "esbuild";

const tests = readdirSync("test")
  .filter((name) => name.endsWith(".test.ts"))
  .map((name) => `test/${name}`);

await Promise.all([
  build({
    entryPoints: tests,
    outdir: "dist/test",
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    packages: "external",
    sourcemap: "inline",
    logLevel: "warning",
  }),
  build({
    entryPoints: ["../web/app.ts"],
    outfile: "../web/dist/app.js",
    bundle: true,
    platform: "browser",
    format: "esm",
    target: "es2022",
    sourcemap: true,
    logLevel: "warning",
  }),
]);
