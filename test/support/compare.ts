// Comparing interpreter results exactly: NaN equals NaN, -0 differs from +0.
import { type Tensor, typeStr } from "../../src/ir/index.js";

const show = (x: number): string => (Object.is(x, -0) ? "-0" : String(x));

/** The first element where two results differ (Object.is), or undefined when all agree. */
export function firstDifference(a: readonly Tensor[], b: readonly Tensor[]): string | undefined {
  if (a.length !== b.length) return `${a.length} results against ${b.length}`;
  for (let r = 0; r < a.length; r++) {
    const [x, y] = [a[r]!, b[r]!];
    if (typeStr(x.type) !== typeStr(y.type)) return `result ${r}: ${typeStr(x.type)} against ${typeStr(y.type)}`;
    for (let i = 0; i < x.data.length; i++) {
      if (!Object.is(x.data[i], y.data[i])) return `result ${r}[${i}]: ${show(x.data[i]!)} against ${show(y.data[i]!)}`;
    }
  }
  return undefined;
}
