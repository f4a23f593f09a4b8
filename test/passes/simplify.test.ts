// Each rewrite of simplify as IR text in, IR text out. Expected texts are written by hand; both
// sides go through the parser and the printer so only the IR, not the layout, is compared.
import { describe, expect, test } from "vitest";
import { type Func, verify } from "../../src/ir/index.js";
import { parseFunc } from "../../src/ir/parse.js";
import { printFunc } from "../../src/ir/print.js";
import {
  algebraic,
  arithmeticIdentities,
  cancelInvolutions,
  cse,
  dce,
  foldConstants,
  movementIdentities,
  reassociateIntegers,
  simplify,
} from "../../src/passes/simplify.js";

type Rewrite = (func: Func) => Func;

function expectRewrite(rewrite: Rewrite, input: string, expected: string): void {
  const out = verify(rewrite(parseFunc(input)));
  expect(printFunc(out)).toBe(printFunc(parseFunc(expected)));
}

/** The rewrite leaves the func alone, and says so by returning it unchanged. */
function expectUnchanged(rewrite: Rewrite, input: string): void {
  const f = parseFunc(input);
  const out = rewrite(f);
  expect(printFunc(out)).toBe(printFunc(f));
  expect(out).toBe(f);
}

describe("dce", () => {
  test("drops ops nobody reads, keeps unused params and the ops results depend on", () => {
    expectRewrite(
      dce,
      `func @f(%x: f32[3], %unused: f32[3]) -> (f32[3]) {
        %a = exp %x : f32[3]
        %dead = neg %a : f32[3]
        %dead2 = sin %dead : f32[3]
        %b = log %a : f32[3]  loc("m.ts":3:1)
        return %b
      }`,
      `func @f(%x: f32[3], %unused: f32[3]) -> (f32[3]) {
        %0 = exp %x : f32[3]
        %1 = log %0 : f32[3]  loc("m.ts":3:1)
        return %1
      }`,
    );
  });

  test("a func whose ops are all live is returned as is", () => {
    expectUnchanged(
      dce,
      `func @f(%x: f32[3]) -> (f32[3], f32[3]) {
        %a = exp %x : f32[3]
        %b = neg %x : f32[3]
        return %a, %b
      }`,
    );
  });
});

describe("cse", () => {
  test("identical ops merge and the first keeps its loc", () => {
    expectRewrite(
      cse,
      `func @f(%x: f32[3], %y: f32[3]) -> (f32[3]) {
        %a = add %x, %y : f32[3]  loc("m.ts":1:1)
        %b = add %x, %y : f32[3]  loc("m.ts":2:1)
        %c = mul %a, %b : f32[3]
        return %c
      }`,
      `func @f(%x: f32[3], %y: f32[3]) -> (f32[3]) {
        %0 = add %x, %y : f32[3]  loc("m.ts":1:1)
        %1 = mul %0, %0 : f32[3]
        return %1
      }`,
    );
  });

  test("merging cascades: ops over merged values merge too", () => {
    expectRewrite(
      (f) => dce(cse(f)),
      `func @f(%x: f32[3]) -> (f32[3]) {
        %a = exp %x : f32[3]
        %b = exp %x : f32[3]
        %c = neg %a : f32[3]
        %d = neg %b : f32[3]
        %e = sub %c, %d : f32[3]
        return %e
      }`,
      `func @f(%x: f32[3]) -> (f32[3]) {
        %0 = exp %x : f32[3]
        %1 = neg %0 : f32[3]
        %2 = sub %1, %1 : f32[3]
        return %2
      }`,
    );
  });

  test("constants merge by their data: NaN with NaN, but -0 apart from 0", () => {
    expectRewrite(
      (f) => dce(cse(f)),
      `func @f() -> (f32[2], f32[2], f32[2], f32[2]) {
        %a = constant {dtype = f32, shape = [2], data = [nan, 0]} : f32[2]
        %b = constant {dtype = f32, shape = [2], data = [nan, 0]} : f32[2]
        %c = constant {dtype = f32, shape = [2], data = [nan, -0]} : f32[2]
        %d = constant {dtype = f16, shape = [2], data = [nan, 0]} : f16[2]
        %e = convert %d {dtype = f32} : f32[2]
        return %a, %b, %c, %e
      }`,
      `func @f() -> (f32[2], f32[2], f32[2], f32[2]) {
        %0 = constant {dtype = f32, shape = [2], data = [nan, 0]} : f32[2]
        %1 = constant {dtype = f32, shape = [2], data = [nan, -0]} : f32[2]
        %2 = constant {dtype = f16, shape = [2], data = [nan, 0]} : f16[2]
        %3 = convert %2 {dtype = f32} : f32[2]
        return %0, %0, %1, %3
      }`,
    );
  });

  test("different attributes or operand order do not merge", () => {
    expectUnchanged(
      cse,
      `func @f(%x: f32[2,2], %y: f32[2,2]) -> (f32[2,2], f32[2,2], f32[2,2], f32[2,2]) {
        %a = sub %x, %y : f32[2,2]
        %b = sub %y, %x : f32[2,2]
        %c = flip %x {axes = [0]} : f32[2,2]
        %d = flip %x {axes = [1]} : f32[2,2]
        return %a, %b, %c, %d
      }`,
    );
  });
});

describe("foldConstants", () => {
  test("an op on constants becomes the constant it computes", () => {
    expectRewrite(
      (f) => dce(foldConstants(f)),
      `func @f() -> (f32[2]) {
        %a = constant {dtype = f32, shape = [2], data = [1.5, 2]} : f32[2]
        %b = constant {dtype = f32, shape = [2], data = [2, -3]} : f32[2]
        %c = add %a, %b : f32[2]  loc("m.ts":4:2)
        return %c
      }`,
      `func @f() -> (f32[2]) {
        %0 = constant {dtype = f32, shape = [2], data = [3.5, -1]} : f32[2]  loc("m.ts":4:2)
        return %0
      }`,
    );
  });

  test("folding rounds to the dtype as the interpreter does (f32 add, i32 wrap, saturating convert)", () => {
    // 2^24 + 1 is not a float32: it rounds (to even) back to 2^24. i32 max + 1 wraps to i32 min.
    // convert to i32 truncates toward zero, NaN gives 0.
    expectRewrite(
      (f) => dce(foldConstants(f)),
      `func @f() -> (f32[], i32[], i32[3]) {
        %a = constant {dtype = f32, shape = [], data = [16777216]} : f32[]
        %b = constant {dtype = f32, shape = [], data = [1]} : f32[]
        %c = add %a, %b : f32[]
        %d = constant {dtype = i32, shape = [], data = [2147483647]} : i32[]
        %e = constant {dtype = i32, shape = [], data = [1]} : i32[]
        %g = add %d, %e : i32[]
        %h = constant {dtype = f32, shape = [3], data = [2.75, -2.75, nan]} : f32[3]
        %i = convert %h {dtype = i32} : i32[3]
        return %c, %g, %i
      }`,
      `func @f() -> (f32[], i32[], i32[3]) {
        %0 = constant {dtype = f32, shape = [], data = [16777216]} : f32[]
        %1 = constant {dtype = i32, shape = [], data = [-2147483648]} : i32[]
        %2 = constant {dtype = i32, shape = [3], data = [2, -2, 0]} : i32[3]
        return %0, %1, %2
      }`,
    );
  });

  test("reductions and movement of constants fold", () => {
    expectRewrite(
      (f) => dce(foldConstants(f)),
      `func @f() -> (i32[2], i32[3,2]) {
        %a = constant {dtype = i32, shape = [2,3], data = [1, 2, 3, 4, 5, 6]} : i32[2,3]
        %s = reduce_sum %a {axes = [1]} : i32[2]
        %t = transpose %a {perm = [1, 0]} : i32[3,2]
        return %s, %t
      }`,
      `func @f() -> (i32[2], i32[3,2]) {
        %0 = constant {dtype = i32, shape = [2], data = [6, 15]} : i32[2]
        %1 = constant {dtype = i32, shape = [3,2], data = [1, 4, 2, 5, 3, 6]} : i32[3,2]
        return %0, %1
      }`,
    );
  });

  test("a broadcast of a scalar constant stays a broadcast", () => {
    expectUnchanged(
      foldConstants,
      `func @f() -> (f32[2,2]) {
        %a = constant {dtype = f32, shape = [], data = [3]} : f32[]
        %b = broadcast %a {shape = [2,2]} : f32[2,2]
        return %b
      }`,
    );
  });

  test("elementwise ops and movement on splats give a splat, however large", () => {
    expectRewrite(
      (f) => dce(foldConstants(f)),
      `func @f() -> (f32[64,64], f32[4096]) {
        %a = constant {dtype = f32, shape = [], data = [3]} : f32[]
        %b = broadcast %a {shape = [64,64]} : f32[64,64]
        %c = constant {dtype = f32, shape = [], data = [-0.5]} : f32[]
        %d = broadcast %c {shape = [64,64]} : f32[64,64]
        %e = mul %b, %d : f32[64,64]  loc("m.ts":9:9)
        %r = reshape %b {shape = [4096]} : f32[4096]
        return %e, %r
      }`,
      `func @f() -> (f32[64,64], f32[4096]) {
        %0 = constant {dtype = f32, shape = [], data = [3]} : f32[]
        %1 = constant {dtype = f32, shape = [], data = [-1.5]} : f32[]  loc("m.ts":9:9)
        %2 = broadcast %1 {shape = [64,64]} : f32[64,64]  loc("m.ts":9:9)
        %3 = broadcast %0 {shape = [4096]} : f32[4096]
        return %2, %3
      }`,
    );
  });

  test("a result of more than 1024 elements that is not a splat is not written out", () => {
    const data = Array.from({ length: 1025 }, (_, i) => i).join(", ");
    expectUnchanged(
      foldConstants,
      `func @f() -> (f32[1025]) {
        %a = constant {dtype = f32, shape = [1025], data = [${data}]} : f32[1025]
        %b = neg %a : f32[1025]
        return %b
      }`,
    );
  });

  test("a result of exactly 1024 elements is folded", () => {
    const data = Array.from({ length: 1024 }, (_, i) => i);
    const negated = data.map((i) => (i === 0 ? "-0" : String(-i))).join(", ");
    expectRewrite(
      (f) => dce(foldConstants(f)),
      `func @f() -> (f32[1024]) {
        %a = constant {dtype = f32, shape = [1024], data = [${data.join(", ")}]} : f32[1024]
        %b = neg %a : f32[1024]
        return %b
      }`,
      `func @f() -> (f32[1024]) {
        %0 = constant {dtype = f32, shape = [1024], data = [${negated}]} : f32[1024]
        return %0
      }`,
    );
  });

  test("sources and stop_gradient are not folded", () => {
    expectUnchanged(
      foldConstants,
      `func @f() -> (i32[3], u32[2], f32[2]) {
        %a = iota {dtype = i32, shape = [3], axis = 0} : i32[3]
        %k = constant {dtype = u32, shape = [2], data = [1, 2]} : u32[2]
        %r = random_bits %k {shape = [2]} : u32[2]
        %c = constant {dtype = f32, shape = [2], data = [1, 2]} : f32[2]
        %s = stop_gradient %c : f32[2]
        return %a, %r, %s
      }`,
    );
  });

  test("an op with a non-constant operand is not folded", () => {
    expectUnchanged(
      foldConstants,
      `func @f(%x: f32[2]) -> (f32[2]) {
        %a = constant {dtype = f32, shape = [2], data = [1, 2]} : f32[2]
        %b = add %a, %x : f32[2]
        return %b
      }`,
    );
  });
});

// Splat constants used by the algebra tests.
const ONE_F32 = `%one0 = constant {dtype = f32, shape = [], data = [1]} : f32[]
        %one = broadcast %one0 {shape = [3]} : f32[3]`;

describe("arithmetic identities", () => {
  test("x * 1, 1 * x and x / 1 are x (floats, and 1 as a broadcast scalar or a full constant)", () => {
    expectRewrite(
      (f) => dce(arithmeticIdentities(f)),
      `func @f(%x: f32[3], %n: i32[2]) -> (f32[3], f32[3], f32[3], i32[2]) {
        ${ONE_F32}
        %a = mul %x, %one : f32[3]
        %b = mul %one, %a : f32[3]
        %c = div %b, %one : f32[3]
        %ones = constant {dtype = i32, shape = [2], data = [1, 1]} : i32[2]
        %d = mul %n, %ones : i32[2]
        return %a, %b, %c, %d
      }`,
      `func @f(%x: f32[3], %n: i32[2]) -> (f32[3], f32[3], f32[3], i32[2]) {
        return %x, %x, %x, %n
      }`,
    );
  });

  test("1 / x and x * 2 are left alone", () => {
    expectUnchanged(
      arithmeticIdentities,
      `func @f(%x: f32[3]) -> (f32[3], f32[3]) {
        ${ONE_F32}
        %a = div %one, %x : f32[3]
        %two = constant {dtype = f32, shape = [3], data = [2, 2, 2]} : f32[3]
        %b = mul %x, %two : f32[3]
        return %a, %b
      }`,
    );
  });

  test("integer x + 0, 0 + x and x - 0 are x", () => {
    expectRewrite(
      (f) => dce(arithmeticIdentities(f)),
      `func @f(%x: i32[3], %u: u32[]) -> (i32[3], i32[3], u32[]) {
        %z0 = constant {dtype = i32, shape = [], data = [0]} : i32[]
        %z = broadcast %z0 {shape = [3]} : i32[3]
        %a = add %x, %z : i32[3]
        %b = add %z, %a : i32[3]
        %uz = constant {dtype = u32, shape = [], data = [0]} : u32[]
        %c = sub %u, %uz : u32[]
        return %a, %b, %c
      }`,
      `func @f(%x: i32[3], %u: u32[]) -> (i32[3], i32[3], u32[]) {
        return %x, %x, %u
      }`,
    );
  });

  test("float x + (-0), (-0) + x and x - (+0) are x", () => {
    expectRewrite(
      (f) => dce(arithmeticIdentities(f)),
      `func @f(%x: f32[3], %h: bf16[]) -> (f32[3], f32[3], bf16[]) {
        %m0 = constant {dtype = f32, shape = [], data = [-0]} : f32[]
        %m = broadcast %m0 {shape = [3]} : f32[3]
        %a = add %x, %m : f32[3]
        %b = add %m, %a : f32[3]
        %p = constant {dtype = bf16, shape = [], data = [0]} : bf16[]
        %c = sub %h, %p : bf16[]
        return %a, %b, %c
      }`,
      `func @f(%x: f32[3], %h: bf16[]) -> (f32[3], f32[3], bf16[]) {
        return %x, %x, %h
      }`,
    );
  });

  test("float x + (+0) and x - (-0) are not x: for x = -0 they give +0", () => {
    expectUnchanged(
      algebraic,
      `func @f(%x: f32[3]) -> (f32[3], f32[3], f32[3]) {
        %p0 = constant {dtype = f32, shape = [], data = [0]} : f32[]
        %p = broadcast %p0 {shape = [3]} : f32[3]
        %a = add %x, %p : f32[3]
        %b = add %p, %x : f32[3]
        %m0 = constant {dtype = f32, shape = [], data = [-0]} : f32[]
        %m = broadcast %m0 {shape = [3]} : f32[3]
        %c = sub %x, %m : f32[3]
        return %a, %b, %c
      }`,
    );
  });

  test("integer x - x is 0", () => {
    expectRewrite(
      (f) => dce(arithmeticIdentities(f)),
      `func @f(%x: u32[2,2]) -> (u32[2,2]) {
        %a = sub %x, %x : u32[2,2]  loc("m.ts":5:3)
        return %a
      }`,
      `func @f(%x: u32[2,2]) -> (u32[2,2]) {
        %0 = constant {dtype = u32, shape = [], data = [0]} : u32[]  loc("m.ts":5:3)
        %1 = broadcast %0 {shape = [2,2]} : u32[2,2]  loc("m.ts":5:3)
        return %1
      }`,
    );
  });

  test("float x - x is not 0 (Inf - Inf and NaN - NaN are NaN)", () => {
    expectUnchanged(
      algebraic,
      `func @f(%x: f32[2]) -> (f32[2]) {
        %a = sub %x, %x : f32[2]
        return %a
      }`,
    );
  });

  test("convert to the operand's own dtype is the operand; to another dtype it stays", () => {
    expectRewrite(
      (f) => dce(arithmeticIdentities(f)),
      `func @f(%x: f16[2]) -> (f16[2], f32[2]) {
        %a = convert %x {dtype = f16} : f16[2]
        %b = convert %a {dtype = f32} : f32[2]
        return %a, %b
      }`,
      `func @f(%x: f16[2]) -> (f16[2], f32[2]) {
        %0 = convert %x {dtype = f32} : f32[2]
        return %x, %0
      }`,
    );
  });

  test("select with a condition that is the same everywhere is the chosen side", () => {
    expectRewrite(
      (f) => dce(arithmeticIdentities(f)),
      `func @f(%a: f32[2], %b: f32[2]) -> (f32[2], f32[2], f32[2]) {
        %t0 = constant {dtype = bool, shape = [], data = [1]} : bool[]
        %t = broadcast %t0 {shape = [2]} : bool[2]
        %f = constant {dtype = bool, shape = [2], data = [0, 0]} : bool[2]
        %x = select %t, %a, %b : f32[2]
        %y = select %f, %a, %b : f32[2]
        %m = constant {dtype = bool, shape = [2], data = [1, 0]} : bool[2]
        %z = select %m, %b, %b : f32[2]
        return %x, %y, %z
      }`,
      `func @f(%a: f32[2], %b: f32[2]) -> (f32[2], f32[2], f32[2]) {
        return %a, %b, %b
      }`,
    );
  });

  test("select with a mixed constant condition stays", () => {
    expectUnchanged(
      arithmeticIdentities,
      `func @f(%a: f32[2], %b: f32[2]) -> (f32[2]) {
        %m = constant {dtype = bool, shape = [2], data = [1, 0]} : bool[2]
        %z = select %m, %a, %b : f32[2]
        return %z
      }`,
    );
  });
});

describe("involutions", () => {
  test("neg(neg(x)) and not(not(x)) are x, for floats, integers and bool", () => {
    expectRewrite(
      (f) => dce(cancelInvolutions(f)),
      `func @f(%x: f32[2], %i: i32[2], %b: bool[2], %u: u32[2]) -> (f32[2], i32[2], bool[2], u32[2]) {
        %a = neg %x : f32[2]
        %a2 = neg %a : f32[2]
        %c = not %i : i32[2]
        %c2 = not %c : i32[2]
        %d = not %b : bool[2]
        %d2 = not %d : bool[2]
        %e = neg %u : u32[2]
        %e2 = neg %e : u32[2]
        return %a2, %c2, %d2, %e2
      }`,
      `func @f(%x: f32[2], %i: i32[2], %b: bool[2], %u: u32[2]) -> (f32[2], i32[2], bool[2], u32[2]) {
        return %x, %i, %b, %u
      }`,
    );
  });

  test("a triple neg leaves one neg", () => {
    expectRewrite(
      (f) => dce(cancelInvolutions(f)),
      `func @f(%x: f32[2]) -> (f32[2]) {
        %a = neg %x : f32[2]  loc("m.ts":1:1)
        %b = neg %a : f32[2]  loc("m.ts":2:1)
        %c = neg %b : f32[2]  loc("m.ts":3:1)
        return %c
      }`,
      // %b is x, so %c reads x: it is neg x, written where %c was.
      `func @f(%x: f32[2]) -> (f32[2]) {
        %0 = neg %x : f32[2]  loc("m.ts":3:1)
        return %0
      }`,
    );
  });

  test("log(exp(x)) and exp(log(x)) are not rewritten (overflow, NaN for x < 0, rounding)", () => {
    expectUnchanged(
      algebraic,
      `func @f(%x: f32[2]) -> (f32[2], f32[2]) {
        %a = exp %x : f32[2]
        %b = log %a : f32[2]
        %c = log %x : f32[2]
        %d = exp %c : f32[2]
        return %b, %d
      }`,
    );
  });

  test("stop_gradient is kept, even around another stop_gradient", () => {
    expectUnchanged(
      simplify,
      `func @f(%x: f32[2]) -> (f32[2]) {
        %a = stop_gradient %x : f32[2]
        %b = stop_gradient %a : f32[2]
        return %b
      }`,
    );
  });
});

describe("movement identities", () => {
  test("transpose of a transpose is one transpose with the composed perm", () => {
    // [2,3,4] by [1,0,2] is [3,2,4]; by [0,2,1] is [3,4,2]. Output axis i reads inner axis
    // q[i], which reads x's axis p[q[i]]: [p[0], p[2], p[1]] = [1, 2, 0].
    expectRewrite(
      (f) => dce(movementIdentities(f)),
      `func @f(%x: f32[2,3,4]) -> (f32[3,4,2]) {
        %a = transpose %x {perm = [1, 0, 2]} : f32[3,2,4]
        %b = transpose %a {perm = [0, 2, 1]} : f32[3,4,2]  loc("m.ts":7:7)
        return %b
      }`,
      `func @f(%x: f32[2,3,4]) -> (f32[3,4,2]) {
        %0 = transpose %x {perm = [1, 2, 0]} : f32[3,4,2]  loc("m.ts":7:7)
        return %0
      }`,
    );
  });

  test("transposes that compose to the identity, and an identity transpose, are x", () => {
    // [1,2,0] then [2,0,1]: [p[2], p[0], p[1]] = [0, 1, 2].
    expectRewrite(
      (f) => dce(movementIdentities(f)),
      `func @f(%x: f32[2,3,4]) -> (f32[2,3,4], f32[2,3,4]) {
        %a = transpose %x {perm = [1, 2, 0]} : f32[3,4,2]
        %b = transpose %a {perm = [2, 0, 1]} : f32[2,3,4]
        %c = transpose %x {perm = [0, 1, 2]} : f32[2,3,4]
        return %b, %c
      }`,
      `func @f(%x: f32[2,3,4]) -> (f32[2,3,4], f32[2,3,4]) {
        return %x, %x
      }`,
    );
  });

  test("reshape of a reshape is one reshape; reshape to the same shape is x", () => {
    expectRewrite(
      (f) => dce(movementIdentities(f)),
      `func @f(%x: f32[2,6]) -> (f32[4,3], f32[2,6], f32[2,6]) {
        %a = reshape %x {shape = [12]} : f32[12]
        %b = reshape %a {shape = [4,3]} : f32[4,3]
        %c = reshape %a {shape = [2,6]} : f32[2,6]
        %d = reshape %x {shape = [2,6]} : f32[2,6]
        return %b, %c, %d
      }`,
      `func @f(%x: f32[2,6]) -> (f32[4,3], f32[2,6], f32[2,6]) {
        %0 = reshape %x {shape = [4,3]} : f32[4,3]
        return %0, %x, %x
      }`,
    );
  });

  test("broadcast of a broadcast is one broadcast; broadcast to the same shape is x", () => {
    expectRewrite(
      (f) => dce(movementIdentities(f)),
      `func @f(%x: f32[3,1]) -> (f32[5,3,4], f32[3,1]) {
        %a = broadcast %x {shape = [3,4]} : f32[3,4]
        %b = broadcast %a {shape = [5,3,4]} : f32[5,3,4]
        %c = broadcast %x {shape = [3,1]} : f32[3,1]
        return %b, %c
      }`,
      `func @f(%x: f32[3,1]) -> (f32[5,3,4], f32[3,1]) {
        %0 = broadcast %x {shape = [5,3,4]} : f32[5,3,4]
        return %0, %x
      }`,
    );
  });

  test("a broadcast to a bigger rank with the same element count is not the identity", () => {
    expectUnchanged(
      movementIdentities,
      `func @f(%x: f32[3]) -> (f32[1,3]) {
        %a = broadcast %x {shape = [1,3]} : f32[1,3]
        return %a
      }`,
    );
  });

  test("a slice of the full range with step 1 is x; any other slice stays", () => {
    expectRewrite(
      (f) => dce(movementIdentities(f)),
      `func @f(%x: f32[4,3]) -> (f32[4,3], f32[2,3], f32[4,3]) {
        %a = slice %x {start = [0, 0], stop = [4, 3], step = [1, 1]} : f32[4,3]
        %b = slice %x {start = [0, 0], stop = [4, 3], step = [2, 1]} : f32[2,3]
        %c = flip %x {axes = []} : f32[4,3]
        return %a, %b, %c
      }`,
      `func @f(%x: f32[4,3]) -> (f32[4,3], f32[2,3], f32[4,3]) {
        %0 = slice %x {start = [0, 0], stop = [4, 3], step = [2, 1]} : f32[2,3]
        return %x, %0, %x
      }`,
    );
  });
});

describe("integer reassociation", () => {
  test("(x + c1) + c2 is x + (c1 + c2), and (x * c1) * c2 is x * (c1 * c2), with wrap", () => {
    // 65536 * 65536 = 2^32, which wraps to 0 in u32; 3 + 4 = 7.
    expectRewrite(
      (f) => dce(reassociateIntegers(f)),
      `func @f(%x: i32[2], %u: u32[]) -> (i32[2], u32[]) {
        %c3 = constant {dtype = i32, shape = [], data = [3]} : i32[]
        %b3 = broadcast %c3 {shape = [2]} : i32[2]
        %c4 = constant {dtype = i32, shape = [2], data = [4, 4]} : i32[2]
        %a = add %b3, %x : i32[2]
        %b = add %a, %c4 : i32[2]  loc("m.ts":2:2)
        %k = constant {dtype = u32, shape = [], data = [65536]} : u32[]
        %m = mul %u, %k : u32[]
        %n = mul %k, %m : u32[]
        return %b, %n
      }`,
      `func @f(%x: i32[2], %u: u32[]) -> (i32[2], u32[]) {
        %0 = constant {dtype = i32, shape = [], data = [7]} : i32[]  loc("m.ts":2:2)
        %1 = broadcast %0 {shape = [2]} : i32[2]  loc("m.ts":2:2)
        %2 = add %x, %1 : i32[2]  loc("m.ts":2:2)
        %3 = constant {dtype = u32, shape = [], data = [0]} : u32[]
        %4 = mul %u, %3 : u32[]
        return %2, %4
      }`,
    );
  });

  test("float chains are not reassociated (float add and mul are not associative)", () => {
    expectUnchanged(
      algebraic,
      `func @f(%x: f32[]) -> (f32[], f32[]) {
        %c1 = constant {dtype = f32, shape = [], data = [0.5]} : f32[]
        %c2 = constant {dtype = f32, shape = [], data = [0.25]} : f32[]
        %a = add %x, %c1 : f32[]
        %b = add %a, %c2 : f32[]
        %m = mul %x, %c1 : f32[]
        %n = mul %m, %c2 : f32[]
        return %b, %n
      }`,
    );
  });

  test("mixed add and mul are not merged", () => {
    expectUnchanged(
      reassociateIntegers,
      `func @f(%x: i32[]) -> (i32[]) {
        %c = constant {dtype = i32, shape = [], data = [3]} : i32[]
        %a = add %x, %c : i32[]
        %b = mul %a, %c : i32[]
        return %b
      }`,
    );
  });
});

describe("simplify", () => {
  test("rewrites feed each other up to a fixed point", () => {
    // x*1 is x; x+3+(-3) is x+0 is x; the two exps merge; neg neg cancels; the transposes cancel;
    // the folded splat 2*0.5 is 1, so the last mul goes too. Only the exp is left.
    expectRewrite(
      simplify,
      `func @f(%x: f32[2,3], %n: i32[2,3]) -> (f32[2,3], i32[2,3], f32[2,3]) {
        %one0 = constant {dtype = f32, shape = [], data = [1]} : f32[]
        %one = broadcast %one0 {shape = [2,3]} : f32[2,3]
        %a = mul %x, %one : f32[2,3]
        %e1 = exp %a : f32[2,3]  loc("m.ts":1:1)
        %e2 = exp %x : f32[2,3]  loc("m.ts":2:1)
        %s = sub %e1, %e2 : f32[2,3]
        %c = constant {dtype = i32, shape = [], data = [3]} : i32[]
        %cb = broadcast %c {shape = [2,3]} : i32[2,3]
        %d = constant {dtype = i32, shape = [], data = [-3]} : i32[]
        %db = broadcast %d {shape = [2,3]} : i32[2,3]
        %p = add %n, %cb : i32[2,3]
        %q = add %p, %db : i32[2,3]
        %g = neg %e2 : f32[2,3]
        %h = neg %g : f32[2,3]
        %t = transpose %h {perm = [1, 0]} : f32[3,2]
        %u = transpose %t {perm = [1, 0]} : f32[2,3]
        %two0 = constant {dtype = f32, shape = [], data = [2]} : f32[]
        %two = broadcast %two0 {shape = [2,3]} : f32[2,3]
        %half0 = constant {dtype = f32, shape = [], data = [0.5]} : f32[]
        %half = broadcast %half0 {shape = [2,3]} : f32[2,3]
        %w = mul %two, %half : f32[2,3]
        %v = mul %u, %w : f32[2,3]
        return %s, %q, %v
      }`,
      `func @f(%x: f32[2,3], %n: i32[2,3]) -> (f32[2,3], i32[2,3], f32[2,3]) {
        %0 = exp %x : f32[2,3]  loc("m.ts":1:1)
        %1 = sub %0, %0 : f32[2,3]
        return %1, %n, %0
      }`,
    );
  });

  test("simplify keeps the signature when the results become params or constants", () => {
    const f = parseFunc(
      `func @g(%x: i32[2], %y: f32[]) -> (i32[2], f32[]) {
        %a = sub %x, %x : i32[2]
        %b = neg %y : f32[]
        %c = neg %b : f32[]
        return %a, %c
      }`,
    );
    const out = simplify(f);
    expect(out.params).toEqual(f.params);
    expect(out.results.map((r) => r.type)).toEqual(f.results.map((r) => r.type));
    expect(printFunc(out)).toBe(
      printFunc(
        parseFunc(
          `func @g(%x: i32[2], %y: f32[]) -> (i32[2], f32[]) {
            %0 = constant {dtype = i32, shape = [], data = [0]} : i32[]
            %1 = broadcast %0 {shape = [2]} : i32[2]
            return %1, %y
          }`,
        ),
      ),
    );
  });

  test("an already simple func comes back as the same object", () => {
    expectUnchanged(
      simplify,
      `func @f(%x: f32[2], %y: f32[2]) -> (f32[2]) {
        %a = add %x, %y : f32[2]  loc("m.ts":1:1)
        %b = exp %a : f32[2]
        return %b
      }`,
    );
  });
});
