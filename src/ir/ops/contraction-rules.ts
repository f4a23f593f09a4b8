// Derivative rules of matmul: C = A B over batches, so dA = dC Bᵀ and dB = Aᵀ dC, with the
// transposes on the last two axes only.
import type { ContractionName } from "./contraction.js";
import type { Rules } from "./rules.js";

export const contractionRules: { readonly [K in ContractionName]: Rules<K> } = {
  matmul: {
    vjp: (e, [a, b], _y, ct) => [
      e.op("matmul", [ct, e.transposeLast2(b!)], {}),
      e.op("matmul", [e.transposeLast2(a!), ct], {}),
    ],
    jvp: (e, [a, b], _y, [ta, tb]) =>
      e.sum([ta ? e.op("matmul", [ta, b!], {}) : null, tb ? e.op("matmul", [a!, tb], {}) : null]),
  },
};
