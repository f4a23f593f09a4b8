// Prints the closing line CI reads: "N passed, N failed".
import { existsSync, readFileSync } from "node:fs";

const [report, status] = process.argv.slice(2);
if (!existsSync(report)) {
  // The typecheck (or vitest itself) failed before any test ran.
  console.log("0 passed, 1 failed");
  process.exit(1);
}
const r = JSON.parse(readFileSync(report, "utf8"));
const failed = r.numFailedTests + (r.numFailedTestSuites ?? 0);
const skipped = r.numPendingTests + r.numTodoTests;
console.log(`${r.numPassedTests} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`);
process.exit(Number(status) === 0 && failed === 0 ? 0 : 1);
