// Activation functions (functions, not modules: a Sequential takes them as layers directly).
import { publicOp } from "../frontend/context.js";
import * as sm from "../index.js";

/** `max(x, 0)`. */
export function relu(x: sm.Array): sm.Array {
  return publicOp("nn.relu", () => sm.maximum(x, 0));
}

/** The exact GELU, `x * Φ(x) = x/2 * (1 + erf(x / √2))` (MLX's default, not the tanh approximation). */
export function gelu(x: sm.Array): sm.Array {
  return publicOp("nn.gelu", () => x.mul(sm.erf(x.mul(Math.SQRT1_2)).add(1)).mul(0.5));
}
