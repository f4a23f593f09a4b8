// Graph IR: SSA values, ops in topological order, funcs; and a builder that types each op by
// its registry rule as it is added.
import type { Attrs, OpName } from "./attrs.js";
import { SmeltError } from "./errors.js";
import type { Loc } from "./loc.js";
import { registry } from "./registry.js";
import type { TensorType } from "./types.js";

export interface Value {
  /** Identity for maps and hash-consing; not part of the printed form. */
  readonly id: number;
  readonly type: TensorType;
  /** Params carry the user's name (`%x`); op results are numbered when printed. */
  readonly name?: string;
}

let nextId = 0;
export function newValue(type: TensorType, name?: string): Value {
  return name === undefined ? { id: nextId++, type } : { id: nextId++, type, name };
}

interface OpOf<K extends OpName> {
  readonly op: K;
  readonly operands: readonly Value[];
  readonly attrs: Attrs[K];
  readonly result: Value;
  readonly loc?: Loc;
}

/** One op of the graph: a union discriminated by `op`. */
export type Op<K extends OpName = OpName> = { [P in K]: OpOf<P> }[K];

export interface Func {
  readonly name: string;
  readonly params: readonly Value[];
  readonly body: readonly Op[];
  readonly results: readonly Value[];
}

/** Construct an op whose result type is already known (the parser; passes that rewrite). */
export function makeOp<K extends OpName>(
  op: K,
  operands: readonly Value[],
  attrs: Attrs[K],
  result: Value,
  loc?: Loc,
): Op<K> {
  const o = loc === undefined ? { op, operands, attrs, result } : { op, operands, attrs, result, loc };
  return o as unknown as Op<K>;
}

/** The result type of `op` on these operands, with the source location in any error. */
export function inferType<K extends OpName>(
  op: K,
  operands: readonly TensorType[],
  attrs: Attrs[K],
  loc?: Loc,
): TensorType {
  const def = registry[op];
  if (def.arity === "variadic" ? operands.length < 1 : operands.length !== def.arity) {
    const want = def.arity === "variadic" ? "at least 1" : String(def.arity);
    throw new SmeltError(`takes ${want} operand(s), got ${operands.length}`, { op, loc });
  }
  try {
    return def.infer(operands, attrs);
  } catch (e) {
    if (e instanceof SmeltError) throw e.withContext({ op, loc });
    throw e;
  }
}

export class FuncBuilder {
  private readonly params: Value[] = [];
  private readonly body: Op[] = [];

  constructor(readonly name: string) {}

  param(type: TensorType, name?: string): Value {
    const v = newValue(type, name ?? `arg${this.params.length}`);
    this.params.push(v);
    return v;
  }

  /** Append an op, typed by its registry rule; returns its result. */
  op<K extends OpName>(op: K, operands: readonly Value[], attrs: Attrs[K], loc?: Loc): Value {
    const type = inferType(
      op,
      operands.map((v) => v.type),
      attrs,
      loc,
    );
    const result = newValue(type);
    this.body.push(makeOp(op, operands, attrs, result, loc) as Op);
    return result;
  }

  build(results: readonly Value[]): Func {
    return { name: this.name, params: [...this.params], body: [...this.body], results: [...results] };
  }
}
