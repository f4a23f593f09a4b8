// Checks the rules of graph IR: every value defined once before it is used, every op's result
// type equal to what its registry rule infers, results defined.
import { SmeltError, VerifyError } from "./errors.js";
import { type Func, inferType, type Op, type Value } from "./graph.js";
import { typeEq, typeStr } from "./types.js";

export function verify(func: Func): Func {
  const defined = new Set<Value>();
  const define = (v: Value, what: string, op?: Op) => {
    if (defined.has(v)) throw new VerifyError(`${what} defines a value twice`, { op: op?.op, loc: op?.loc });
    defined.add(v);
  };
  const names = new Set<string>();
  func.params.forEach((p, i) => {
    if (p.name !== undefined) {
      if (names.has(p.name)) throw new VerifyError(`@${func.name}: parameter name %${p.name} is used twice`);
      names.add(p.name);
    }
    define(p, `parameter ${i} of @${func.name}`);
  });
  func.body.forEach((op, i) => {
    op.operands.forEach((v, j) => {
      if (!defined.has(v)) {
        throw new VerifyError(`operand ${j} of op #${i} is used before it is defined`, { op: op.op, loc: op.loc });
      }
    });
    let want;
    try {
      want = inferType(
        op.op,
        op.operands.map((v) => v.type),
        op.attrs,
        op.loc,
      );
    } catch (e) {
      if (e instanceof SmeltError && !(e instanceof VerifyError)) {
        throw new VerifyError(`op #${i}: ${e.detail}`, { op: op.op, loc: op.loc });
      }
      throw e;
    }
    if (!typeEq(want, op.result.type)) {
      throw new VerifyError(
        `op #${i} is declared ${typeStr(op.result.type)} but its operands (${op.operands
          .map((v) => typeStr(v.type))
          .join(", ")}) give ${typeStr(want)}`,
        { op: op.op, loc: op.loc },
      );
    }
    define(op.result, `op #${i}`, op);
  });
  func.results.forEach((v, i) => {
    if (!defined.has(v)) throw new VerifyError(`@${func.name}: result ${i} is not defined by the function`);
  });
  return func;
}
