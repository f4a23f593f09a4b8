// Helpers for the frontend tests: values of arrays, and errors checked for the op, the types
// and the test's own source line.
import path from "node:path";
import { expect } from "vitest";
import * as sm from "../../src/index.js";

export const vals = (a: sm.Array): number[] => Array.from(a.dataSync());

/** Values equal within `tol` (NaN equals NaN), with the same length. */
export function expectClose(actual: readonly number[], expected: readonly number[], tol = 1e-6): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((x, i) => {
    const e = expected[i]!;
    if (Number.isNaN(e) || !Number.isFinite(e)) expect(x, `element ${i}`).toBe(e);
    else expect(Math.abs(x - e), `element ${i}: ${x} vs ${e}`).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(e)));
  });
}

/** `file:line` of the statement that called the function calling this. */
function callerSite(): string {
  const frames = (new Error().stack ?? "").split("\n").slice(1);
  const frame = frames.find((f) => !f.includes("support.ts") && f.includes(".test.ts"))!;
  const m = /([^/\\(\s]+\.test\.ts):(\d+):\d+\)?$/.exec(frame)!;
  return `${m[1]}:${m[2]}`;
}

type ErrorClass = new (...args: never[]) => sm.SmeltError;

/**
 * `fn` (written on the same line as the call to this) throws `cls` whose message starts with
 * `op:`, mentions each of `mentions` and points at this line of the test file.
 */
export function expectError(fn: () => unknown, cls: ErrorClass, op: string, mentions: readonly string[] = []): sm.SmeltError {
  const site = callerSite();
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught, "expected an error").toBeInstanceOf(cls);
  const e = caught as sm.SmeltError;
  expect(e.message.startsWith(`${op}: `), e.message).toBe(true);
  for (const m of mentions) expect(e.message).toContain(m);
  expect(e.message).toContain(`${site}:`);
  expect(e.loc && path.basename(e.loc.file)).toBe(site.split(":")[0]);
  return e;
}
