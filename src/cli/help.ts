// The text of `smelt --help` and `smelt <command> --help`.

export const DUMP_STAGES = ["traced", "autodiff", "simplified", "fused", "planned", "msl"] as const;

export const MAIN_HELP = `smelt: trace, differentiate, fuse and plan array programs written with smeltjs.

Usage:
  smelt run <file.ts|file.js> [options] [-- args...]   run a program
  smelt opt <file.smir> [options]                      run passes over IR text
  smelt devices                                        which devices work here, and why not
  smelt <command> --help                               the options of a command
  smelt --help                                         this text

Exit status: 0 on success; 1 when the input is wrong (IR that does not parse or verify) or a
command fails; 2 for a bad command line (unknown command or flag, bad value, missing file) or
an output that is not available yet; \`smelt run\` exits with the program's own status.
`;

export const RUN_HELP = `Usage: smelt run <file.ts|file.js> [options] [-- args...]

Runs a program with Node (TypeScript through tsx) in a child process, with stdin, stdout and
stderr passed through, and exits with its exit status (128 + the signal number if it was killed).
Words after the file, and everything after \`--\` (flags included), are the program's own
arguments (process.argv.slice(2)); smelt's options may come before or after the file.

Options:
  --device metal|host|interp   the default device (sets SMELT_DEVICE for the program)
  --dump-ir[=STAGE,...]        every compile()d function prints its IR at these stages, each op
                               annotated with the source it came from (sets SMELT_DUMP_IR).
                               Stages: ${DUMP_STAGES.join(", ")},
                               or all (--dump-ir alone means --dump-ir=all)
  --dump-dir DIR               write the dumps to files in DIR instead of stderr (sets
                               SMELT_DUMP_DIR; created if missing; implies --dump-ir=all
                               unless --dump-ir says otherwise)
  -h, --help                   this text

Example:
  smelt run examples/mlp.ts --device interp --dump-ir=traced,fused -- --epochs 3
`;

export const OPT_HELP = `Usage: smelt opt <file.smir> [options]

Reads graph IR text (every func in the file), verifies it, runs the passes in order over each
func and writes the result to stdout. A file that does not parse is reported as
file:line:col: message (exit 1).

Options:
  --passes P,...               passes to run, in order (default: none):
                                 simplify  graph IR -> graph IR (fold, algebra, CSE, DCE)
                                 fuse      graph IR -> kernel IR program
                                 plan      program -> program with a memory plan
  --strategy full|elementwise|none
                               what fuse may put in one kernel (default full); only with fuse
  --emit ir|msl|stats          what to write (default ir):
                                 ir     the IR after the last pass (with no passes, the input
                                        reprinted in canonical form)
                                 stats  JSON { kernels, bytesMoved, minimalBytes, peakBytes,
                                        naivePeakBytes } of each program (needs fuse; an object
                                        for one func, an array for several)
                                 msl    the Metal Shading Language of each program, as Metal
                                        runs it (fused and planned first if the passes
                                        stopped before)
  -h, --help                   this text

Example:
  smelt opt loss.smir --passes simplify,fuse,plan --emit stats
`;

export const DEVICES_HELP = `Usage: smelt devices

Lists the devices smelt knows (metal, host, interp), whether each works on this machine, and
why not when it does not. The first that works is the default (SMELT_DEVICE overrides it).
`;
