// Matmul kernels as tiles. A matmul kernel of fusion has a grid (batch..., m, n), one `dot`
// reduction over k whose body multiplies an operand indexed by (batch, m, k) and one indexed by
// (batch, k, n) (loads at any strides, or elementwise expressions of them), and an epilogue: the
// stores at each grid point. Two schedules are written from that structure:
// - simdgroup (what Metal runs): a threadgroup of 4 simdgroups computes a 32x32 tile of C,
//   staging 32x16 and 16x32 tiles of the operands in threadgroup memory (zero-padded at the
//   edges) and accumulating 8x8 simdgroup_matrix fragments; the tile of C goes through
//   threadgroup memory to the epilogue, one element per thread at a time.
// - blocked (the host's fast path): barrier-free; each thread computes a block of C, packing
//   panels of B's columns into a local array and running 4-row register tiles over them, each
//   k step one vector of the panel times a broadcast of A, which the compiler vectorizes across
//   the columns. Blocks at the edge read the operands at clamped coordinates and store what is
//   inside.
// Both accumulate each element over k in order with one rounding per product, as `dot` is
// defined; the simdgroup tile on Apple hardware may round differently.
import { type Expr, freeVars, type Kernel, type Loop, type Reduction } from "../ir/index.js";
import { Block, decompose, FLAT, loopName, product, splice } from "./blocks.js";
import type { Builtin, Dialect } from "./dialect.js";

export interface MatmulPlan {
  readonly dot: Reduction;
  /** The dot's loop. */
  readonly k: Loop;
  readonly m: Loop;
  readonly n: Loop;
  /** The other grid loops, in grid order. */
  readonly batch: readonly Loop[];
  readonly grid: readonly Loop[];
  /** The factor indexed by (batch, m, k), and the one indexed by (batch, k, n). */
  readonly a: Expr;
  readonly b: Expr;
}

/** The matmul structure of `k`, or why it has none. */
export function matmulPlan(k: Kernel): MatmulPlan | string {
  if (k.kind !== "matmul") return `a ${k.kind} kernel is not a matmul`;
  const [dot, ...more] = k.reductions;
  if (!dot || more.length > 0) return `${k.reductions.length} reductions, not one dot`;
  if (dot.op !== "dot" || dot.scope.length > 0 || dot.loops.length !== 1) {
    return `reduction %${dot.name} is not a dot over one loop at grid level`;
  }
  const body = dot.body;
  if (body.k !== "op" || body.op !== "mul" || body.args.length !== 2) return `the body of dot %${dot.name} is not a product`;
  if (k.grid.length < 2) return "the grid has no m and n loops";
  if (k.grid.some((l) => l.extent === 0)) return "the grid is empty";
  const looped = k.stores.find((s) => s.loops.length > 0);
  if (looped) return `the store to %${looped.buf} has loops of its own`;
  const kLoop = dot.loops[0]!;
  const indices = (e: Expr) => [...freeVars(e)].filter((v) => v !== kLoop.v);
  const [x, y] = body.args as [Expr, Expr];
  const g = k.grid;
  const last = g.length - 1;
  // The output may be stored transposed (m after n), and either factor may come first.
  for (const [mi, ni] of [
    [last - 1, last],
    [last, last - 1],
  ] as const) {
    const m = g[mi]!;
    const n = g[ni]!;
    const batch = g.filter((_, i) => i !== mi && i !== ni);
    const within = (e: Expr, own: Loop) => indices(e).every((v) => v === own.v || batch.some((l) => l.v === v));
    for (const [a, b] of [
      [x, y],
      [y, x],
    ] as const) {
      if (within(a, m) && within(b, n)) return { dot, k: kLoop, m, n, batch, grid: g, a, b };
    }
  }
  return "the factors are not indexed by (batch, m, k) and (batch, k, n)";
}

/** How the dot accumulates, in the dialect. */
export interface DotAlgebra {
  /** The accumulator's type. */
  readonly acc: string;
  readonly zero: string;
  /** The reduction's type. */
  readonly result: string;
  /** A factor's value as the accumulator's type. */
  lift(x: string): string;
  /** The accumulator after adding the product x * y. */
  step(x: string, y: string, acc: string): string;
  /** The reduction's value from the accumulator. */
  finish(acc: string): string;
}

/** What the tile writers need of the kernel writer. */
export interface TileWriter {
  readonly d: Dialect;
  /** An atom holding `e` in block `b` (computed in the outermost block where it can be). */
  value(e: Expr, b: Block): string;
  /** The kernel's stores at the grid point bound in `b`, with the dot's value bound there. */
  epilogue(b: Block): void;
  readonly dot: DotAlgebra;
  builtin(which: Builtin): string;
}

/** `x / n` and `x % n` on a uint atom, without the trivial cases. */
const udiv = (x: string, n: number): string => (n === 1 ? x : `${x} / ${n}u`);
const umod = (x: string, n: number): string => (n === 1 ? "0u" : `${x} % ${n}u`);
const all = (conds: readonly string[]): string => conds.join(" && ");
/** The first row (or column) of tile `index` of `tiles`, each `size` long. */
const tileStart = (index: string, tiles: number, size: number): string => (tiles === 1 ? "0" : `int(${index}) * ${size}`);

/**
 * Binds the batch loops in `b` from the flat batch index held in the uint `flat`; returns their
 * definitions, which name only what is bound before any tile loop (for the flat grid index).
 */
function bindBatch(b: Block, p: MatmulPlan, flat: string): Map<string, string> {
  const defs = new Map<string, string>();
  const batch = decompose(flat, p.batch);
  p.batch.forEach((l, i) => {
    defs.set(l.v, batch[i]!);
    b.vars.set(l.v, { name: loopName(l.v), def: batch[i]!, emitted: false });
  });
  return defs;
}

/** Binds m and n (and with them the flat grid index) in `b`. */
function bindPoint(b: Block, p: MatmulPlan, batchDefs: ReadonlyMap<string, string>, m: string, n: string): void {
  b.vars.set(p.m.v, { name: loopName(p.m.v), def: m, emitted: false });
  b.vars.set(p.n.v, { name: loopName(p.n.v), def: n, emitted: false });
  const def = (l: Loop) => (l === p.m ? m : l === p.n ? n : batchDefs.get(l.v)!);
  const terms: string[] = [];
  let stride = 1;
  for (let i = p.grid.length - 1; i >= 0; i--) {
    const l = p.grid[i]!;
    if (l.extent > 1) terms.unshift(stride === 1 ? `(${def(l)})` : `(${def(l)}) * ${stride}`);
    stride *= l.extent;
  }
  b.vars.set(FLAT, { name: "mm_flat", def: terms.join(" + "), emitted: false });
}

/** Binds the dot's value in `b` from the accumulator `acc` and writes the stores there. */
function epilogueAt(w: TileWriter, b: Block, p: MatmulPlan, acc: string): void {
  b.lines.push(`const ${w.dot.result} mm_red = ${w.dot.finish(acc)};`);
  b.reduced.set(p.dot.name, "mm_red");
  w.epilogue(b);
}

// ---------------------------------------------------------------- simdgroup

/** C tile rows and columns, k step, and threads (4 simdgroups, each 16x16 of C: 2x2 fragments). */
export const SIMDGROUP_TILE = { bm: 32, bn: 32, bk: 16, threads: 128 } as const;

export interface Launch {
  readonly groups: number;
  readonly threads: number;
  readonly threadgroupBytes: number;
}

export function simdgroupLaunch(p: MatmulPlan): Launch {
  const { bm, bn, bk, threads } = SIMDGROUP_TILE;
  const groups = product(p.batch) * Math.ceil(p.m.extent / bm) * Math.ceil(p.n.extent / bn);
  return { groups, threads, threadgroupBytes: 4 * (bm * bk + bk * bn + bm * bn) };
}

const FRAGMENTS = [
  ["mm_acc00", "mm_a0", "mm_b0"],
  ["mm_acc01", "mm_a0", "mm_b1"],
  ["mm_acc10", "mm_a1", "mm_b0"],
  ["mm_acc11", "mm_a1", "mm_b1"],
] as const;

interface Stage {
  readonly array: string;
  readonly rows: number;
  readonly cols: number;
  readonly operand: Expr;
  /** The loops the tile's rows and columns stand for, where they start, and their extents. */
  readonly row: Loop;
  readonly rowBase: string;
  readonly col: Loop;
  readonly colBase: string;
}

/** Copies a tile of an operand into threadgroup memory, the threads striding over it; zero outside. */
function stage(w: TileWriter, parent: Block, s: Stage): void {
  const { threads } = SIMDGROUP_TILE;
  const loop = new Block(parent, false);
  // Names of their own per staged operand: the dead-let pass counts uses across the kernel.
  const r = `${s.array}_r`;
  const c = `${s.array}_c`;
  loop.lines.push(`const int ${r} = int(mm_e / ${s.cols}u);`, `const int ${c} = int(mm_e % ${s.cols}u);`);
  const conds: string[] = [];
  if (s.row.extent % s.rows) conds.push(`${s.rowBase} + ${r} < ${s.row.extent}`);
  if (s.col.extent % s.cols) conds.push(`${s.colBase} + ${c} < ${s.col.extent}`);
  // Loads are in range only inside the operand: outside, nothing may be hoisted above the test.
  const at = conds.length ? new Block(loop, true) : loop;
  at.vars.set(s.row.v, { name: loopName(s.row.v), def: `${s.rowBase} + ${r}`, emitted: false });
  at.vars.set(s.col.v, { name: loopName(s.col.v), def: `${s.colBase} + ${c}`, emitted: false });
  if (conds.length) {
    loop.lines.push("float mm_x = 0.0f;");
    at.lines.push(`mm_x = ${w.dot.lift(w.value(s.operand, at))};`);
    splice(loop, `if (${all(conds)})`, at);
    loop.lines.push(`${s.array}[mm_e] = mm_x;`);
  } else {
    loop.lines.push(`${s.array}[mm_e] = ${w.dot.lift(w.value(s.operand, loop))};`);
  }
  const tid = w.builtin("threadInGroup");
  splice(parent, `for (uint mm_e = ${tid}; mm_e < ${s.rows * s.cols}u; mm_e += ${threads}u)`, loop);
}

/** The body of the simdgroup_matrix schedule, in the kernel's root block. */
export function writeSimdgroup(w: TileWriter, root: Block, p: MatmulPlan): void {
  const d = w.d;
  const sg = d.simdgroupMatrix;
  const tg = d.addressSpace.threadgroup;
  const { bm, bn, bk, threads } = SIMDGROUP_TILE;
  const [M, N, K] = [p.m.extent, p.n.extent, p.k.extent];
  const tilesM = Math.ceil(M / bm);
  const tilesN = Math.ceil(N / bn);
  const group = w.builtin("groupInGrid");
  const simd = w.builtin("simdgroup");
  root.lines.push(
    `${tg} float tg_a[${bm * bk}];`,
    `${tg} float tg_b[${bk * bn}];`,
    `${tg} float tg_c[${bm * bn}];`,
    // On the host a fragment takes its lane when constructed: before the first barrier.
    ...FRAGMENTS.map(([acc]) => `${sg.float8x8} ${acc} = ${sg.fill}(0.0f);`),
    `${sg.float8x8} mm_a0, mm_a1, mm_b0, mm_b1;`,
    `const int mm_m0 = ${tileStart(umod(udiv(group, tilesN), tilesM), tilesM, bm)};`,
    `const int mm_n0 = ${tileStart(umod(group, tilesN), tilesN, bn)};`,
    `const uint mm_batch = ${udiv(group, tilesM * tilesN)};`,
    // Simdgroups 0..3 own the 16x16 quarters of the tile, row-major.
    `const int mm_sm = int(${simd} / 2u) * 16;`,
    `const int mm_sn = int(${simd} % 2u) * 16;`,
  );
  const batchDefs = bindBatch(root, p, "mm_batch");

  const kb = new Block(root, false);
  stage(w, kb, { array: "tg_a", rows: bm, cols: bk, operand: p.a, row: p.m, rowBase: "mm_m0", col: p.k, colBase: "mm_k0" });
  stage(w, kb, { array: "tg_b", rows: bk, cols: bn, operand: p.b, row: p.k, rowBase: "mm_k0", col: p.n, colBase: "mm_n0" });
  kb.lines.push(`${d.barrier};`);
  const step = new Block(kb, false);
  step.lines.push(
    `${sg.load}(mm_a0, &tg_a[mm_sm * ${bk} + mm_kk], ${bk});`,
    `${sg.load}(mm_a1, &tg_a[(mm_sm + 8) * ${bk} + mm_kk], ${bk});`,
    `${sg.load}(mm_b0, &tg_b[mm_kk * ${bn} + mm_sn], ${bn});`,
    `${sg.load}(mm_b1, &tg_b[mm_kk * ${bn} + mm_sn + 8], ${bn});`,
    ...FRAGMENTS.map(([acc, a, b]) => `${sg.multiplyAccumulate}(${acc}, ${a}, ${b}, ${acc});`),
  );
  splice(kb, `for (int mm_kk = 0; mm_kk < ${bk}; mm_kk += 8)`, step);
  // The next round of staging overwrites the tiles every simdgroup is reading.
  kb.lines.push(`${d.barrier};`);
  splice(root, `for (int mm_k0 = 0; mm_k0 < ${K}; mm_k0 += ${bk})`, kb);

  root.lines.push(
    ...FRAGMENTS.map(([acc], i) => {
      const row = i >> 1 ? "(mm_sm + 8)" : "mm_sm";
      const col = i & 1 ? "mm_sn + 8" : "mm_sn";
      return `${sg.store}(${acc}, &tg_c[${row} * ${bn} + ${col}], ${bn});`;
    }),
    `${d.barrier};`,
  );
  const out = new Block(root, false);
  out.lines.push(`const int mm_i = int(mm_e / ${bn}u);`, `const int mm_j = int(mm_e % ${bn}u);`);
  const conds: string[] = [];
  if (M % bm) conds.push(`mm_m0 + mm_i < ${M}`);
  if (N % bn) conds.push(`mm_n0 + mm_j < ${N}`);
  const at = conds.length ? new Block(out, true) : out;
  bindPoint(at, p, batchDefs, "mm_m0 + mm_i", "mm_n0 + mm_j");
  epilogueAt(w, at, p, "tg_c[mm_e]");
  if (conds.length) splice(out, `if (${all(conds)})`, at);
  splice(root, `for (uint mm_e = ${w.builtin("threadInGroup")}; mm_e < ${bm * bn}u; mm_e += ${threads}u)`, out);
}

// ---------------------------------------------------------------- blocked

/** Rows and columns of C one thread computes. */
export interface BlockShape {
  readonly rows: number;
  readonly cols: number;
}

/** Rows of C kept in registers at once, and the k steps of B packed at once (16 KiB at 32 columns). */
const MICRO_ROWS = 4;
const K_PANEL = 128;

/**
 * Up to 64 rows by 32 columns: a 4x32 register tile (16 vector registers of 8 floats) streams
 * over a packed panel of B, and the block amortizes packing over 16 such tiles. Smaller for a
 * small matrix, so that a block overhangs the edge by little.
 */
export function defaultBlock(p: MatmulPlan): BlockShape {
  const pow2 = (n: number) => 2 ** Math.ceil(Math.log2(Math.max(1, n)));
  return { rows: Math.min(64, Math.ceil(p.m.extent / MICRO_ROWS) * MICRO_ROWS), cols: Math.min(32, pow2(p.n.extent)) };
}

/** Blocks of C, one per thread. */
export function blockCount(p: MatmulPlan, shape: BlockShape): number {
  return product(p.batch) * Math.ceil(p.m.extent / shape.rows) * Math.ceil(p.n.extent / shape.cols);
}

/**
 * The body of the register-blocked schedule, in the kernel's root block. Per panel of K_PANEL
 * k steps: the thread copies its columns of B for those steps into a local panel (rows of B are
 * far apart in memory; the panel is contiguous), then for each group of MICRO_ROWS rows runs the
 * k steps with the partial sums in registers, each step a broadcast of A times a row of the
 * panel, which vectorizes across the columns. Rows and columns past the edge of C read the
 * factors at clamped coordinates (their results are never stored).
 */
export function writeBlocked(w: TileWriter, root: Block, p: MatmulPlan, shape: BlockShape): void {
  const { rows, cols } = shape;
  const micro = [MICRO_ROWS, 2, 1].find((r) => rows % r === 0)!;
  const [M, N, K] = [p.m.extent, p.n.extent, p.k.extent];
  const tilesM = Math.ceil(M / rows);
  const tilesN = Math.ceil(N / cols);
  const dot = w.dot;
  const gid = w.builtin("threadInGrid");
  const loop = (v: string, n: number | string, step = 1) => `for (int ${v} = 0; ${v} < ${n}; ${v}${step === 1 ? "++" : ` += ${step}`})`;
  const clamp = (x: string, n: number, overhangs: boolean) => (overhangs ? `(${x} < ${n} ? ${x} : ${n - 1})` : x);
  const [rowsOver, colsOver] = [M % rows !== 0, N % cols !== 0];
  const kName = loopName(p.k.v);
  // Neighbouring threads take neighbouring row blocks: they pack the same columns of B.
  root.lines.push(
    `if (${gid} >= ${blockCount(p, shape)}u) return;`,
    `const int mm_m0 = ${tileStart(umod(gid, tilesM), tilesM, rows)};`,
    `const int mm_n0 = ${tileStart(umod(udiv(gid, tilesM), tilesN), tilesN, cols)};`,
    `const uint mm_batch = ${udiv(gid, tilesM * tilesN)};`,
    `${dot.acc} mm_acc[${rows}][${cols}];`,
    `${loop("mm_i", rows)} {`,
    `  ${loop("mm_j", cols)} mm_acc[mm_i][mm_j] = ${dot.zero};`,
    "}",
    `${dot.acc} mm_pb[${Math.min(K_PANEL, Math.max(1, K))}][${cols}];`,
  );
  const batchDefs = bindBatch(root, p, "mm_batch");

  const panel = new Block(root, false);
  panel.lines.push(`const int mm_kn = ${K} - mm_kc < ${K_PANEL} ? ${K} - mm_kc : ${K_PANEL};`);
  const packK = new Block(panel, false);
  packK.vars.set(p.k.v, { name: kName, def: "mm_kc + mm_k", emitted: false });
  const packJ = new Block(packK, false);
  packJ.vars.set(p.n.v, { name: loopName(p.n.v), def: clamp("mm_n0 + mm_j", N, colsOver), emitted: false });
  packJ.lines.push(`mm_pb[mm_k][mm_j] = ${dot.lift(w.value(p.b, packJ))};`);
  splice(packK, loop("mm_j", cols), packJ);
  splice(panel, loop("mm_k", "mm_kn"), packK);

  const group = new Block(panel, false);
  group.lines.push(
    `${dot.acc} mm_r[${micro}][${cols}];`,
    `${loop("mm_i", micro)} {`,
    `  ${loop("mm_j", cols)} mm_r[mm_i][mm_j] = mm_acc[mm_i0 + mm_i][mm_j];`,
    "}",
  );
  const steps = new Block(group, false);
  steps.vars.set(p.k.v, { name: kName, def: "mm_kc + mm_k", emitted: false });
  steps.lines.push(`${dot.acc} mm_a[${micro}];`);
  const ai = new Block(steps, false);
  ai.vars.set(p.m.v, { name: loopName(p.m.v), def: clamp("mm_m0 + mm_i0 + mm_i", M, rowsOver), emitted: false });
  ai.lines.push(`mm_a[mm_i] = ${dot.lift(w.value(p.a, ai))};`);
  splice(steps, loop("mm_i", micro), ai);
  steps.lines.push(
    `${loop("mm_i", micro)} {`,
    `  ${loop("mm_j", cols)} mm_r[mm_i][mm_j] = ${dot.step("mm_a[mm_i]", "mm_pb[mm_k][mm_j]", "mm_r[mm_i][mm_j]")};`,
    "}",
  );
  splice(group, loop("mm_k", "mm_kn"), steps);
  group.lines.push(
    `${loop("mm_i", micro)} {`,
    `  ${loop("mm_j", cols)} mm_acc[mm_i0 + mm_i][mm_j] = mm_r[mm_i][mm_j];`,
    "}",
  );
  splice(panel, loop("mm_i0", rows, micro), group);
  splice(root, loop("mm_kc", K, K_PANEL), panel);

  const ei = new Block(root, false);
  const ej = new Block(ei, false);
  const conds: string[] = [];
  if (rowsOver) conds.push(`mm_m0 + mm_i < ${M}`);
  if (colsOver) conds.push(`mm_n0 + mm_j < ${N}`);
  const at = conds.length ? new Block(ej, true) : ej;
  bindPoint(at, p, batchDefs, "mm_m0 + mm_i", "mm_n0 + mm_j");
  epilogueAt(w, at, p, "mm_acc[mm_i][mm_j]");
  if (conds.length) splice(ej, `if (${all(conds)})`, at);
  splice(ei, loop("mm_j", cols), ej);
  splice(root, loop("mm_i", rows), ei);
}
