import { describe, expect, test } from "vitest";
import * as sm from "../../src/index.js";
import { checkGrad } from "../../src/testing/index.js";
import { expectClose, expectError, vals } from "../frontend/support.js";

const { crossEntropy, mse } = sm.nn.losses;

const logits = [
  [1, 2, 3],
  [1, 0, -1],
];
/** log(sum(exp(row))) in float64. */
const lse = (row: number[]): number => Math.log(row.reduce((s, v) => s + Math.exp(v), 0));
// Both rows have logsumexp = max + log(1 + e^-1 + e^-2).
const l0 = lse(logits[0]!); // 3.4076059644...
const l1 = lse(logits[1]!); // 1.4076059644...

describe("crossEntropy", () => {
  test("class targets: logsumexp(row) - row[target], for each reduction", () => {
    const x = sm.array(logits, { dtype: "float32" });
    const t = sm.array([2, 1]);
    const each = [l0 - 3, l1 - 0];
    expectClose(vals(crossEntropy(x, t, { reduction: "none" })), each, 1e-6);
    expectClose([crossEntropy(x, t).item()], [(each[0]! + each[1]!) / 2], 1e-6);
    expectClose([crossEntropy(x, t, { reduction: "sum" }).item()], [each[0]! + each[1]!], 1e-6);
    expect(crossEntropy(x, t).shape).toEqual([]);
    expect(crossEntropy(x, t, { reduction: "none" }).shape).toEqual([2]);
  });

  test("probability targets: -sum(p * (row - logsumexp(row))), for each reduction", () => {
    const x = sm.array(logits, { dtype: "float32" });
    const p = sm.array([
      [0, 0, 1],
      [0.5, 0.5, 0],
    ]);
    // Row 0 is one-hot on class 2; row 1: l1 - (0.5 * 1 + 0.5 * 0).
    const each = [l0 - 3, l1 - 0.5];
    expectClose(vals(crossEntropy(x, p, { reduction: "none" })), each, 1e-6);
    expectClose([crossEntropy(x, p, { reduction: "mean" }).item()], [(each[0]! + each[1]!) / 2], 1e-6);
    expectClose([crossEntropy(x, p, { reduction: "sum" }).item()], [each[0]! + each[1]!], 1e-6);
  });

  test("classes along another axis", () => {
    // The same examples with classes along axis 0.
    const x = sm.transpose(sm.array(logits, { dtype: "float32" }));
    expectClose(vals(crossEntropy(x, sm.array([2, 1]), { axis: 0, reduction: "none" })), [l0 - 3, l1], 1e-6);
    // A batch of sequences: [batch 1, time 2, classes 3] with class targets [1, 2].
    const seq = sm.reshape(sm.array(logits, { dtype: "float32" }), [1, 2, 3]);
    expectClose(vals(crossEntropy(seq, sm.array([[2, 1]]), { reduction: "none" })), [l0 - 3, l1], 1e-6);
  });

  test("bad targets are errors at the caller's line", () => {
    const x = sm.array(logits, { dtype: "float32" });
    expectError(() => crossEntropy(x, sm.array([1, 2, 0])), sm.ShapeError, "nn.losses.crossEntropy", ["i32[3]", "[2]"]);
    expectError(() => crossEntropy(x, sm.ones([2, 2])), sm.ShapeError, "nn.losses.crossEntropy", ["f32[2,2]", "f32[2,3]"]);
    expectError(() => crossEntropy(x, sm.array([true, false])), sm.DTypeError, "nn.losses.crossEntropy", ["bool"]);
    expectError(() => crossEntropy(x, sm.array([0, 1]), { axis: 2 }), sm.ShapeError, "nn.losses.crossEntropy", ["axis 2"]);
    const avg = { reduction: "avg" as "mean" };
    expectError(() => crossEntropy(x, sm.array([0, 1]), avg), sm.SmeltError, "nn.losses.crossEntropy", ['"avg"']);
  });

  test("checkGrad with both kinds of targets", () => {
    sm.random.seed(2);
    const x = sm.random.normal([4, 5]);
    checkGrad((l: sm.Array) => crossEntropy(l, sm.array([0, 4, 2, 2])), [x]);
    const p = sm.softmax(sm.random.normal([4, 5]));
    checkGrad((l: sm.Array, q: sm.Array) => crossEntropy(l, q, { reduction: "sum" }), [x, p]);
  });
});

describe("mse", () => {
  test("squared differences, for each reduction", () => {
    const pred = sm.array([1, 2, 3, -1]);
    const target = sm.array([1.5, 2, 1, 1]);
    // Squares: 0.25, 0, 4, 4.
    expectClose(vals(mse(pred, target, { reduction: "none" })), [0.25, 0, 4, 4]);
    expectClose([mse(pred, target).item()], [8.25 / 4]);
    expectClose([mse(pred, target, { reduction: "sum" }).item()], [8.25]);
  });

  test("shapes must match", () => {
    expectError(() => mse(sm.ones([3]), sm.ones([3, 1])), sm.ShapeError, "nn.losses.mse", ["f32[3]", "f32[3,1]"]);
  });

  test("checkGrad", () => {
    sm.random.seed(4);
    checkGrad(mse, [sm.random.normal([3, 2]), sm.random.normal([3, 2])]);
  });
});
