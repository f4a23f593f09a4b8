// Command-line parsing shared by the subcommands: node:util parseArgs, with its errors turned
// into usage errors (exit 2) that say what was wrong in one line.
import { type ParseArgsConfig, parseArgs } from "node:util";
import { SmeltError } from "../ir/errors.js";

/** A bad command line: unknown command or flag, a bad value, a missing file. Exit status 2. */
export class UsageError extends SmeltError {}

export const USAGE_EXIT = 2;

type Parsed<T extends ParseArgsConfig> = ReturnType<typeof parseArgs<T>>;

export function parseCommandLine<T extends ParseArgsConfig>(config: T): Parsed<T> {
  try {
    return parseArgs(config);
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && code.startsWith("ERR_PARSE_ARGS_")) {
      // parseArgs appends advice about `--` to some messages; the first sentence is the problem.
      const message = e instanceof Error ? e.message : String(e);
      throw new UsageError(message.split(/\.\s/)[0]!.replace(/\.$/, ""));
    }
    throw e;
  }
}

/** One of `allowed`, or a usage error naming the flag and the choices. */
export function oneOf<const T extends string>(flag: string, value: string, allowed: readonly T[]): T {
  const found = allowed.find((a) => a === value);
  if (found === undefined) {
    throw new UsageError(`${flag}: unknown value "${value}" (expected ${allowed.join(", ")})`);
  }
  return found;
}

/** A comma-separated list, each item one of `allowed`. */
export function listOf<const T extends string>(flag: string, value: string, allowed: readonly T[]): T[] {
  const items = value.split(",").map((s) => s.trim());
  if (items.some((s) => s === "")) throw new UsageError(`${flag}: empty item in "${value}"`);
  return items.map((s) => oneOf(flag, s, allowed));
}
