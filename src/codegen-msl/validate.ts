// Metal's rules that compiling the MSL as C++ on the host does not catch, checked on the text
// before any source leaves codegen: buffer slots, address spaces on pointer parameters, no
// double, suffixed float literals, no Metal-reserved names, threadgroup memory and thread
// limits, barriers that order threadgroup memory, and the language version the text needs.
// It reads MSL as text (smelt's own output is regular), so it also judges hand-written kernels.
import { CompileError } from "../ir/index.js";

export type MslVersion = "2.0" | "2.3" | "3.0" | "3.1";

const VERSIONS: readonly MslVersion[] = ["2.0", "2.3", "3.0", "3.1"];

export const maxVersion = (a: MslVersion, b: MslVersion): MslVersion =>
  VERSIONS.indexOf(a) >= VERSIONS.indexOf(b) ? a : b;

/** A kernel the text must define, with the launch facts the text alone does not hold. */
export interface ValidationTarget {
  /** The kernel's name in its program, for messages. */
  readonly name: string;
  /** The MSL function. */
  readonly entry: string;
  readonly threadsPerGroup: number;
}

export const MAX_BUFFER_SLOTS = 31;
export const MAX_THREADGROUP_BYTES = 32 * 1024;
export const MAX_THREADS_PER_GROUP = 1024;

/** Words Metal reserves (or its library defines) that cannot name a variable, parameter or function. */
const RESERVED = new Set([
  "kernel",
  "vertex",
  "fragment",
  "visible",
  "stitchable",
  "mesh",
  "object",
  "device",
  "constant",
  "threadgroup",
  "threadgroup_imageblock",
  "thread",
  "ray_data",
  "object_data",
  "sampler",
  "texture",
  "texture1d",
  "texture1d_array",
  "texture2d",
  "texture2d_array",
  "texture2d_ms",
  "texture2d_ms_array",
  "texture3d",
  "texturecube",
  "texturecube_array",
  "texture_buffer",
  "depth2d",
  "depth2d_array",
  "depth2d_ms",
  "depth2d_ms_array",
  "depthcube",
  "depthcube_array",
  "imageblock",
  "half",
  "bfloat",
  "atomic",
  "atomic_int",
  "atomic_uint",
  "atomic_float",
  "atomic_bool",
  "simdgroup_matrix",
  "metal",
  "as_type",
  "patch_control_point",
]);

/** Constructs Metal does not have (MSL is C++14 without these). */
const FORBIDDEN: readonly [RegExp, string][] = [
  [/\bdouble\b/, "uses double (Metal has no 64-bit float)"],
  [/\bgoto\b/, "uses goto"],
  [/\bvirtual\b/, "uses virtual functions"],
  [/\b(?:new|delete)\b/, "allocates (new/delete)"],
  [/\b(?:throw|try|catch)\b/, "uses exceptions"],
  [/\[\s*[&=]?\s*\]\s*\(/, "uses a lambda"],
  [/\(\s*\*\s*\w+\s*\)\s*\(/, "uses a function pointer"],
];

/** Bytes of each MSL scalar type a threadgroup array may hold. */
export const SCALAR_BYTES: Readonly<Record<string, number>> = {
  bool: 1,
  char: 1,
  uchar: 1,
  short: 2,
  ushort: 2,
  half: 2,
  bfloat: 2,
  int: 4,
  uint: 4,
  float: 4,
  long: 8,
  ulong: 8,
  atomic_int: 4,
  atomic_uint: 4,
  atomic_float: 4,
};

/** Bytes of a threadgroup element type: scalars, and 2-, 3- and 4-vectors (a 3-vector is padded to 4). */
function typeBytes(t: string): number | undefined {
  const m = /^([a-z_]+?)([234])?$/.exec(t);
  if (!m) return undefined;
  const scalar = SCALAR_BYTES[m[1]!];
  if (scalar === undefined) return undefined;
  const n = m[2] ? Number(m[2]) : 1;
  return scalar * (n === 3 ? 4 : n);
}

/** Comments become spaces (keeping offsets); host-only sections and preprocessor lines go. */
function clean(text: string): string {
  const noComments = text.replace(/\/\*[\s\S]*?\*\/|\/\/[^\n]*/g, (c) => c.replace(/[^\n]/g, " "));
  const out: string[] = [];
  let hostDepth = 0;
  for (const line of noComments.split("\n")) {
    const t = line.trim();
    if (hostDepth > 0) {
      if (/^#\s*if/.test(t)) hostDepth++;
      else if (/^#\s*endif/.test(t)) hostDepth--;
      out.push("");
      continue;
    }
    if (/^#\s*ifdef\s+SMELT_HOST\b/.test(t)) hostDepth = 1;
    out.push(t.startsWith("#") ? "" : line);
  }
  return out.join("\n");
}

/** The index just past the bracket that closes the one at `open`. */
function closing(text: string, open: number): number {
  const pairs: Record<string, string> = { "(": ")", "{": "}", "[": "]" };
  const want = pairs[text[open]!]!;
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    const c = text[i]!;
    if (c === text[open]) depth++;
    else if (c === want && --depth === 0) return i + 1;
  }
  return text.length;
}

/** Splits at commas outside brackets. */
function splitTop(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if ("([<{".includes(c)) depth++;
    else if (")]>}".includes(c)) depth--;
    else if (c === "," && depth === 0) {
      out.push(s.slice(start, i));
      start = i + 1;
    }
  }
  out.push(s.slice(start));
  return out.map((p) => p.trim()).filter((p) => p.length > 0);
}

interface KernelText {
  readonly entry: string;
  readonly returns: string;
  readonly params: readonly string[];
  readonly body: string;
}

function findKernels(text: string): KernelText[] {
  const out: KernelText[] = [];
  const re = /\bkernel\s+([A-Za-z_]\w*)\s+([A-Za-z_]\w*)\s*\(/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const open = m.index + m[0].length - 1;
    const close = closing(text, open);
    const brace = text.indexOf("{", close);
    const body = brace < 0 ? "" : text.slice(brace, closing(text, brace));
    out.push({ entry: m[2]!, returns: m[1]!, params: splitTop(text.slice(open + 1, close - 1)), body });
  }
  return out;
}

/**
 * Checks MSL text that should define exactly the kernels `targets` names; returns the minimum
 * language version it needs. Throws a CompileError naming the kernel (or `what`, for text that
 * defines none) at the first rule broken.
 */
export function validateMsl(text: string, targets: readonly ValidationTarget[], what = "MSL source"): MslVersion {
  const src = clean(text);
  const kernels = findKernels(src);
  const subject = targets.length === 1 ? label(targets[0]!) : what;
  const fail = (who: string, detail: string): never => {
    throw new CompileError(`${who}: ${detail}`);
  };
  for (const t of targets) {
    if (!kernels.some((k) => k.entry === t.entry)) fail(label(t), `the text defines no kernel ${t.entry}`);
  }
  for (const k of kernels) {
    const t = targets.find((x) => x.entry === k.entry);
    if (!t) fail(what, `kernel ${k.entry} is not one the caller expects`);
    checkKernel(k, t!, (d) => fail(label(t!), d));
  }
  checkText(src, (d) => fail(subject, d));
  return version(src);
}

const label = (t: ValidationTarget): string => `kernel ${t.name} (${t.entry})`;

function checkText(src: string, fail: (detail: string) => never): void {
  for (const [re, why] of FORBIDDEN) if (re.test(src)) fail(why);
  const unsuffixed = /(?<![\w.])((?:\d+\.\d*|\.\d+)(?:[eE][+-]?\d+)?|\d+[eE][+-]?\d+)(?![\w.])/.exec(src);
  if (unsuffixed) fail(`float literal ${unsuffixed[1]} has no suffix (write ${unsuffixed[1]}f): unsuffixed literals are double`);
  for (const name of declaredNames(src)) {
    if (RESERVED.has(name)) fail(`'${name}' is reserved in Metal and cannot name a variable, parameter or function`);
  }
  checkProgramScope(src, fail);
  checkRecursion(src, fail);
}

/** Words that begin a statement or expression, not a declaration's type. */
const STATEMENT_WORDS = new Set(["return", "else", "case", "do", "sizeof", "typedef", "using", "namespace"]);

/** Names of declared variables, parameters, functions and structs (a lexical approximation). */
function declaredNames(src: string): string[] {
  const out: string[] = [];
  const decl =
    /(?:^|[;{}(,])\s*(?:(?:const|static|inline|constexpr|device|constant|threadgroup|thread)\s+)*([A-Za-z_]\w*)(?:\s*<[^<>;]*>)?\s*[*&]*\s*([A-Za-z_]\w*)\s*(?=[=;,)([])/gm;
  for (let m = decl.exec(src); m; m = decl.exec(src)) {
    if (!STATEMENT_WORDS.has(m[1]!)) out.push(m[2]!);
    decl.lastIndex = m.index + m[0].length;
  }
  for (const m of src.matchAll(/\bstruct\s+([A-Za-z_]\w*)/g)) out.push(m[1]!);
  return out;
}

/** Statements at program scope: only `constant` data, types, functions and using-declarations. */
function checkProgramScope(src: string, fail: (detail: string) => never): void {
  let i = 0;
  while (i < src.length) {
    const rest = src.slice(i);
    const lead = /^\s*/.exec(rest)![0].length;
    i += lead;
    if (i >= src.length) break;
    let semi = src.indexOf(";", i);
    const brace = src.indexOf("{", i);
    if (brace >= 0 && (semi < 0 || brace < semi)) {
      const end = closing(src, brace);
      if (!/=\s*$/.test(src.slice(i, brace))) {
        // A function or a struct: skip its body (and a struct's trailing `;`).
        i = end;
        if (/^\s*;/.test(src.slice(i))) i = src.indexOf(";", i) + 1;
        continue;
      }
      semi = src.indexOf(";", end); // a variable with a braced initializer
    }
    const stmt = src.slice(i, semi < 0 ? src.length : semi).trim();
    i = semi < 0 ? src.length : semi + 1;
    if (/^(?:using|typedef|struct|enum)\b/.test(stmt) || /^constant\b/.test(stmt)) continue;
    if (/\)\s*$/.test(stmt)) continue; // a function declaration
    fail(`program-scope variable '${stmt}' must be constant (Metal has no mutable globals)`);
  }
}

/** Direct recursion (Metal forbids recursion; mutual recursion among helpers is not looked for). */
function checkRecursion(src: string, fail: (detail: string) => never): void {
  const def = /\b([A-Za-z_]\w*)\s*\([^;{}]*\)\s*(?:const\s*)?\{/g;
  for (let m = def.exec(src); m; m = def.exec(src)) {
    const name = m[1]!;
    if (["if", "for", "while", "switch"].includes(name)) continue;
    const open = m.index + m[0].length - 1;
    const body = src.slice(open + 1, closing(src, open) - 1);
    if (new RegExp(`\\b${name}\\s*\\(`).test(body)) fail(`function ${name} calls itself (Metal has no recursion)`);
  }
}

function checkKernel(k: KernelText, t: ValidationTarget, fail: (detail: string) => never): void {
  if (k.returns !== "void") fail(`a kernel returns void, not ${k.returns}`);
  const slots = new Set<number>();
  for (const p of k.params) {
    const attrs = [...p.matchAll(/\[\[([\s\S]*?)\]\]/g)].map((m) => m[1]!);
    const decl = p.replace(/\[\[[\s\S]*?\]\]/g, "").trim();
    if (attrs.length === 0) fail(`parameter '${decl}' has no attribute (a buffer slot or a builtin)`);
    const indirect = /[*&]/.test(decl);
    if (indirect && !/^(?:const\s+)?(?:device|constant|threadgroup|thread|object_data|ray_data)\b/.test(decl)) {
      fail(`pointer parameter '${decl}' has no address space (device, constant or threadgroup)`);
    }
    if (/\*\s*(?:const\s*)?[*&]/.test(decl)) fail(`parameter '${decl}' points to a pointer`);
    for (const a of attrs) {
      const m = /^\s*buffer\s*\(\s*(-?\d+)\s*\)\s*$/.exec(a);
      if (!m) continue;
      const slot = Number(m[1]);
      if (slot < 0 || slot >= MAX_BUFFER_SLOTS) fail(`buffer slot ${slot} is outside 0..${MAX_BUFFER_SLOTS - 1}`);
      if (slots.has(slot)) fail(`buffer slot ${slot} is bound twice`);
      if (!indirect) fail(`buffer parameter '${decl}' must be a pointer or a reference`);
      slots.add(slot);
    }
  }
  if (slots.size > MAX_BUFFER_SLOTS) fail(`${slots.size} buffer slots (Metal has ${MAX_BUFFER_SLOTS})`);
  if (!(t.threadsPerGroup >= 1 && t.threadsPerGroup <= MAX_THREADS_PER_GROUP)) {
    fail(`${t.threadsPerGroup} threads per threadgroup (Metal allows 1..${MAX_THREADS_PER_GROUP})`);
  }
  let bytes = 0;
  const tg = /\bthreadgroup\s+([A-Za-z_]\w*)\s+([A-Za-z_]\w*)\s*(?:\[\s*(\d+)\s*\])?\s*;/g;
  for (const m of k.body.matchAll(tg)) {
    const size = typeBytes(m[1]!);
    if (size === undefined) fail(`threadgroup array ${m[2]} has element type ${m[1]} of unknown size`);
    bytes += size! * (m[3] ? Number(m[3]) : 1);
  }
  if (bytes > MAX_THREADGROUP_BYTES) fail(`${bytes} bytes of threadgroup memory (Metal allows ${MAX_THREADGROUP_BYTES})`);
  const barriers = [...k.body.matchAll(/\bthreadgroup_barrier\s*\(([^)]*)\)/g)].map((m) => m[1]!);
  if (bytes > 0) {
    if (barriers.length === 0) fail("shares threadgroup memory without a threadgroup_barrier");
    const weak = barriers.find((b) => !/\bmem_threadgroup\b/.test(b));
    if (weak !== undefined) fail(`threadgroup_barrier(${weak.trim()}) does not order threadgroup memory (mem_flags::mem_threadgroup)`);
  }
}

/** The first language version with every feature the text uses. */
function version(src: string): MslVersion {
  if (/\bbfloat\d?\b/.test(src)) return "3.1";
  if (/\batomic_float\b|\batomic\s*<\s*float\s*>/.test(src)) return "3.0";
  if (/\bsimd_(?:sum|product|max|min|and|or|xor|prefix_\w+|shuffle\w*|broadcast\w*)\s*\(/.test(src)) return "2.3";
  if (/\bsimdgroup_(?:matrix\s*<|(?:float|half|bfloat)8x8\b|load\s*\(|store\s*\(|multiply\w*\s*\()|\bmake_filled_simdgroup_matrix\b/.test(src)) {
    return "2.3";
  }
  return "2.0";
}
