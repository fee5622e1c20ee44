// Fails when src/generated/openapi.ts is not what openapi-typescript makes of
// schemas/openapi.json today (the document changed and the types were not regenerated).
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const checkedIn = "src/generated/openapi.ts";
const dir = mkdtempSync(join(tmpdir(), "openapi-ts-"));
try {
  const fresh = join(dir, "openapi.ts");
  execFileSync("npx", ["--no-install", "openapi-typescript", "../../schemas/openapi.json", "-o", fresh], { stdio: "ignore" });
  if (readFileSync(fresh, "utf8") !== readFileSync(checkedIn, "utf8")) {
    console.error(`${checkedIn} is stale: regenerate it with \`npm run generate\` (in clients/ts) and commit it.`);
    process.exit(1);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
