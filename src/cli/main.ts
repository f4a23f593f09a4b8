// The entry point of the `smelt` command (bin/smelt.js loads it through tsx). Each subcommand is
// loaded only when asked for, so `smelt run` does not pay for the parser and the passes.
import { USAGE_EXIT, UsageError } from "./args.js";
import { MAIN_HELP } from "./help.js";

type Command = (argv: readonly string[]) => number | Promise<number>;

const COMMANDS: Readonly<Record<string, () => Promise<Command>>> = {
  run: async () => (await import("./run.js")).runCommand,
  opt: async () => (await import("./opt.js")).optCommand,
  devices: async () => (await import("./devices.js")).devicesCommand,
};

async function main(argv: readonly string[]): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined) {
    process.stderr.write(MAIN_HELP);
    return USAGE_EXIT;
  }
  if (first === "--help" || first === "-h" || first === "help") {
    process.stdout.write(MAIN_HELP);
    return 0;
  }
  const load = Object.hasOwn(COMMANDS, first) ? COMMANDS[first] : undefined;
  if (!load) {
    const what = first.startsWith("-") ? `unknown option "${first}"` : `unknown command "${first}"`;
    throw new UsageError(`${what} (commands: ${Object.keys(COMMANDS).join(", ")})`);
  }
  return (await load())(rest);
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (e) {
  if (!(e instanceof UsageError)) throw e;
  process.stderr.write(`smelt: ${e.message}\nRun "smelt --help" for usage.\n`);
  process.exitCode = USAGE_EXIT;
}
