import fc from "fast-check";
import { describe, expect, test } from "vitest";
import {
  DTYPES,
  type Func,
  interpret,
  type Loc,
  makeOp,
  OP_NAMES,
  type Op,
  type OpName,
  ParseError,
  type Tensor,
  verify,
  VerifyError,
} from "../../src/ir/index.js";
import { parseFunc, parseModule } from "../../src/ir/parse.js";
import { printFunc, printModule } from "../../src/ir/print.js";
import { randomFunc } from "../support/randomFunc.js";

/** Element-wise identical, NaN equal to NaN and -0 distinct from 0. */
function sameTensors(a: readonly Tensor[], b: readonly Tensor[]): boolean {
  return (
    a.length === b.length &&
    a.every((x, i) => {
      const y = b[i]!;
      return (
        x.type.dtype === y.type.dtype &&
        x.type.shape.join() === y.type.shape.join() &&
        x.data.length === y.data.length &&
        x.data.every((v, j) => Object.is(v, y.data[j]))
      );
    })
  );
}

/** The same func with a loc on each op (file names and exprs of any characters but newlines). */
const withLocs = (f: Func): fc.Arbitrary<Func> =>
  fc
    .array(
      fc.option(
        fc.record(
          {
            file: fc.string({ unit: "binary" }),
            line: fc.nat(),
            col: fc.nat(),
            expr: fc.string({ unit: "binary" }).map((s) => s.replace(/[\r\n]/g, "")),
          },
          { requiredKeys: ["file", "line", "col"] },
        ),
        { nil: undefined },
      ),
      { minLength: f.body.length, maxLength: f.body.length },
    )
    .map((locs) => ({
      ...f,
      body: f.body.map((op, i) => relocate(op, locs[i])),
    }));

function relocate(op: Op, loc: Loc | undefined): Op {
  return makeOp(op.op, op.operands, op.attrs, op.result, loc) as Op;
}

/** Is this one of the errors bad text may give? */
const isTextError = (e: unknown): boolean => e instanceof ParseError || e instanceof VerifyError;

function parsesOrFailsCleanly(text: string): void {
  try {
    parseModule(text);
  } catch (e) {
    if (!isTextError(e)) throw e;
    if (e instanceof ParseError) {
      expect(e.line).toBeGreaterThanOrEqual(1);
      expect(e.col).toBeGreaterThanOrEqual(1);
    }
  }
}

describe("print and parse round-trip", () => {
  test("print -> parse -> print is identical, and the parsed func computes the same values", () => {
    fc.assert(
      fc.property(randomFunc(), ({ func, inputs }) => {
        const text = printFunc(func);
        const parsed = parseFunc(text);
        expect(printFunc(parsed)).toBe(text);
        expect(sameTensors(interpret(parsed, inputs), interpret(func, inputs))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  test("locs and exprs survive, whatever their characters", () => {
    const arb = randomFunc({ maxOps: 4 }).chain(({ func }) => withLocs(func));
    fc.assert(
      fc.property(arb, (func) => {
        const text = printFunc(func);
        const parsed = parseFunc(text);
        expect(printFunc(parsed)).toBe(text);
        expect(parsed.body.map((o) => o.loc)).toEqual(func.body.map((o) => o.loc));
      }),
      { numRuns: 200 },
    );
  });

  test("a module of several funcs round-trips", () => {
    fc.assert(
      fc.property(fc.array(randomFunc({ maxOps: 3 }), { maxLength: 4 }), (cases) => {
        const text = printModule(cases.map((c) => c.func));
        const parsed = parseModule(text);
        expect(parsed.length).toBe(cases.length);
        expect(printModule(parsed)).toBe(text);
      }),
      { numRuns: 100 },
    );
  });
});

describe("bad text gives a ParseError or VerifyError, never anything else", () => {
  test("random strings", () => {
    fc.assert(fc.property(fc.string({ unit: "binary", maxLength: 200 }), parsesOrFailsCleanly), { numRuns: 500 });
  });

  test("random sequences of IR tokens", () => {
    const piece = fc.constantFrom(
      "func", "@f", '@"g"', "(", ")", "%x", "%0", ":", "f32", "u32", "[", "]", "2", "-1", "0.5", "-inf",
      "nan", "->", "{", "}", "return", "=", "neg", "add", "argmax", "constant", "axis", "dtype", "shape",
      "data", ",", "loc", '"a.ts"', "// c\n", " ", "\n", '"', "1e", "@",
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 60 }), (ps) => parsesOrFailsCleanly(ps.join(""))),
      { numRuns: 1000 },
    );
  });

  test("random edits of valid text", () => {
    const edit = fc.record({
      kind: fc.constantFrom("delete", "insert", "replace"),
      at: fc.nat(),
      ch: fc.constantFrom(..."%@(){}[],:=-.\"/\\ \n0123456789aefinx_"),
    });
    const arb = fc.tuple(randomFunc({ maxOps: 5 }), fc.array(edit, { minLength: 1, maxLength: 3 }));
    fc.assert(
      fc.property(arb, ([{ func }, edits]) => {
        let text = printFunc(func);
        for (const { kind, at, ch } of edits) {
          const i = at % (text.length + 1);
          const skip = kind === "insert" ? 0 : 1;
          text = text.slice(0, i) + (kind === "delete" ? "" : ch) + text.slice(i + skip);
        }
        parsesOrFailsCleanly(text);
      }),
      { numRuns: 1000 },
    );
  });
});

describe("randomFunc", () => {
  test("generates verified funcs that interpret on their inputs", () => {
    fc.assert(
      fc.property(randomFunc(), ({ func, inputs }) => {
        verify(func);
        expect(inputs.map((t) => t.type)).toEqual(func.params.map((p) => p.type));
        expect(interpret(func, inputs, { mode: "float64" }).length).toBe(func.results.length);
      }),
      { numRuns: 300 },
    );
  });

  test("covers every primitive in the registry", () => {
    const seen = new Set<OpName>();
    for (const { func } of fc.sample(randomFunc(), { numRuns: 600, seed: 7 })) {
      for (const op of func.body) seen.add(op.op);
    }
    expect(OP_NAMES.filter((op) => !seen.has(op))).toEqual([]);
  });

  test("keeps to the ops and dtypes it is given", () => {
    const ops: OpName[] = ["add", "mul", "exp", "reduce_sum", "argmax"];
    const arb = fc
      .tuple(fc.subarray(ops, { minLength: 1 }), fc.subarray([...DTYPES], { minLength: 1 }))
      .chain(([o, d]) => randomFunc({ ops: o, dtypes: d }).map((c) => ({ c, o, d })));
    fc.assert(
      fc.property(arb, ({ c, o, d }) => {
        for (const op of c.func.body) expect(o).toContain(op.op);
        for (const v of [...c.func.params, ...c.func.body.map((op) => op.result)]) expect(d).toContain(v.type.dtype);
      }),
      { numRuns: 200 },
    );
  });

  test("with only elementwise float ops, funcs are chains over float params", () => {
    const ops: OpName[] = ["add", "exp", "tanh", "mul"];
    const cases = fc.sample(randomFunc({ ops, dtypes: ["float32"], minOps: 4, maxOps: 4 }), { numRuns: 50, seed: 3 });
    for (const { func } of cases) expect(func.body.length).toBe(4);
    const usesAnOp = (func: Func) => {
      const results = new Set(func.body.map((o) => o.result));
      return func.body.some((op) => op.operands.some((v) => results.has(v)));
    };
    const chained = cases.filter(({ func }) => usesAnOp(func));
    expect(chained.length).toBeGreaterThan(25);
  });
});
