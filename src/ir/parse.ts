// The parser of graph IR text (docs/ir.md, "Text form"). A chevrotain grammar turns the text into
// a syntax tree of tokens; a second step resolves names, converts attributes by the registry's
// schema, types each op by its annotation and verifies the func. Whatever the input, the only
// errors are a ParseError with its line:col, or a VerifyError for well-formed IR that breaks a
// typing rule.
import {
  createToken,
  EmbeddedActionsParser,
  EOF,
  type IParserErrorMessageProvider,
  type IRecognitionException,
  type IToken,
  Lexer,
  type TokenType,
  tokenLabel,
} from "chevrotain";
import type { AttrKind, Attrs, OpName } from "./attrs.js";
import { type DType, dtypeFromShortName } from "./dtype.js";
import { ParseError } from "./errors.js";
import { type Func, makeOp, newValue, type Op, type Value } from "./graph.js";
import type { Loc } from "./loc.js";
import { registry } from "./registry.js";
import { type TensorType, typeEq, typeStr } from "./types.js";
import { verify } from "./verify.js";

// ---------------------------------------------------------------- tokens

const WhiteSpace = createToken({ name: "WhiteSpace", pattern: /[ \t\r\n]+/, group: Lexer.SKIPPED });
const Comment = createToken({ name: "Comment", pattern: /\/\/[^\r\n]*/, group: "comments" });
const Identifier = createToken({ name: "Identifier", pattern: /[A-Za-z_][A-Za-z0-9_]*/, label: "a name" });
const FuncKw = createToken({ name: "FuncKw", pattern: /func/, longer_alt: Identifier, label: "'func'" });
const ReturnKw = createToken({ name: "ReturnKw", pattern: /return/, longer_alt: Identifier, label: "'return'" });
const LocKw = createToken({ name: "LocKw", pattern: /loc/, longer_alt: Identifier, label: "'loc'" });
const FuncName = createToken({ name: "FuncName", pattern: /@[A-Za-z_][A-Za-z0-9_]*/, label: "a func name" });
const QuotedFuncName = createToken({
  name: "QuotedFuncName",
  pattern: /@"(?:[^"\\\r\n]|\\.)*"/,
  label: "a func name",
});
const ValueName = createToken({ name: "ValueName", pattern: /%[A-Za-z0-9_]+/, label: "a %value" });
const StringLit = createToken({ name: "StringLit", pattern: /"(?:[^"\\\r\n]|\\.)*"/, label: "a string" });
// Lexed as a token of its own so that it is reported where it starts.
const Unterminated = createToken({
  name: "Unterminated",
  pattern: /@?"(?:[^"\\\r\n]|\\.)*/,
  label: "an unterminated string",
});
const Arrow = createToken({ name: "Arrow", pattern: /->/, label: "'->'" });
// Greedy, so that `1.2.3` or `3x` is one token reported as a bad number rather than two tokens
// the grammar happens to accept or reject elsewhere. Checked by NUMBER_SYNTAX when converted.
const NumberLit = createToken({
  name: "NumberLit",
  pattern: /-?(?:[0-9]|\.[0-9]|inf)(?:[eE][+-]|[0-9A-Za-z_.])*/,
  label: "a number",
});
const LParen = createToken({ name: "LParen", pattern: /\(/, label: "'('" });
const RParen = createToken({ name: "RParen", pattern: /\)/, label: "')'" });
const LBrace = createToken({ name: "LBrace", pattern: /\{/, label: "'{'" });
const RBrace = createToken({ name: "RBrace", pattern: /\}/, label: "'}'" });
const LBracket = createToken({ name: "LBracket", pattern: /\[/, label: "'['" });
const RBracket = createToken({ name: "RBracket", pattern: /\]/, label: "']'" });
const Comma = createToken({ name: "Comma", pattern: /,/, label: "','" });
const Colon = createToken({ name: "Colon", pattern: /:/, label: "':'" });
const Equals = createToken({ name: "Equals", pattern: /=/, label: "'='" });

const ALL_TOKENS = [
  WhiteSpace,
  Comment,
  FuncKw,
  ReturnKw,
  LocKw,
  Identifier,
  FuncName,
  QuotedFuncName,
  ValueName,
  StringLit,
  Unterminated,
  Arrow,
  NumberLit,
  LParen,
  RParen,
  LBrace,
  RBrace,
  LBracket,
  RBracket,
  Comma,
  Colon,
  Equals,
];

const lexer = new Lexer(ALL_TOKENS, { positionTracking: "full", ensureOptimizations: true });

// ---------------------------------------------------------------- syntax tree

interface TypeNode {
  readonly dtype: IToken;
  readonly dims: IToken[];
}
interface ParamNode {
  readonly name: IToken;
  readonly type: TypeNode;
}
type RawValue =
  | { readonly tag: "scalar"; readonly tok: IToken }
  | { readonly tag: "list"; readonly open: IToken; readonly items: IToken[] };
interface AttrNode {
  readonly name: IToken;
  readonly value: RawValue;
}
interface LocNode {
  readonly file: IToken;
  readonly line: IToken;
  readonly col: IToken;
  readonly close: IToken;
  /** The next grammar token after the loc: a comment before it on the same line is the expr. */
  readonly next: IToken;
}
interface OpNode {
  readonly result: IToken;
  readonly name: IToken;
  readonly operands: IToken[];
  readonly attrs: AttrNode[];
  readonly type: TypeNode;
  readonly loc: LocNode | undefined;
}
interface FuncNode {
  readonly name: IToken;
  readonly params: ParamNode[];
  readonly resultTypes: TypeNode[];
  readonly body: OpNode[];
  readonly ret: IToken;
  readonly retValues: IToken[];
}

// ---------------------------------------------------------------- grammar

/** A token as error messages quote it (shortened: a string token may be long). */
const quote = (image: string): string => `'${image.length > 40 ? `${image.slice(0, 37)}...` : image}'`;

const describe = (t: IToken): string => (t.tokenType === EOF ? "end of input" : quote(t.image));

const oneOf = (labels: string[]): string => {
  const uniq = [...new Set(labels)];
  return uniq.length <= 1 ? (uniq[0] ?? "nothing") : `${uniq.slice(0, -1).join(", ")} or ${uniq.at(-1)}`;
};

const messages: IParserErrorMessageProvider = {
  buildMismatchTokenMessage: ({ expected, actual }) => `expected ${tokenLabel(expected)}, found ${describe(actual)}`,
  buildNotAllInputParsedMessage: ({ firstRedundant }) =>
    `expected 'func' or end of input, found ${describe(firstRedundant)}`,
  buildNoViableAltMessage: ({ expectedPathsPerAlt, actual }) => {
    const firsts = expectedPathsPerAlt.flatMap((alt) => alt.map((path) => path[0])).filter((t) => t !== undefined);
    return `expected ${oneOf(firsts.map((t: TokenType) => tokenLabel(t)))}, found ${describe(actual[0]!)}`;
  },
  buildEarlyExitMessage: ({ expectedIterationPaths, actual }) => {
    const firsts = expectedIterationPaths.map((p) => p[0]).filter((t) => t !== undefined);
    return `expected ${oneOf(firsts.map((t: TokenType) => tokenLabel(t)))}, found ${describe(actual[0]!)}`;
  },
};

class IrParser extends EmbeddedActionsParser {
  constructor() {
    super(ALL_TOKENS, { recoveryEnabled: false, errorMessageProvider: messages, maxLookahead: 1 });
    this.performSelfAnalysis();
  }

  module = this.RULE("module", (): FuncNode[] => {
    const funcs: FuncNode[] = [];
    this.MANY(() => funcs.push(this.SUBRULE(this.func)));
    return funcs;
  });

  private func = this.RULE("func", (): FuncNode => {
    this.CONSUME(FuncKw);
    const name = this.OR([{ ALT: () => this.CONSUME(FuncName) }, { ALT: () => this.CONSUME(QuotedFuncName) }]);
    const params: ParamNode[] = [];
    this.CONSUME(LParen);
    this.MANY_SEP({ SEP: Comma, DEF: () => params.push(this.SUBRULE(this.param)) });
    this.CONSUME(RParen);
    this.CONSUME(Arrow);
    const resultTypes: TypeNode[] = [];
    this.OR1([
      {
        ALT: () => {
          this.CONSUME1(LParen);
          this.MANY_SEP1({ SEP: Comma, DEF: () => resultTypes.push(this.SUBRULE(this.type)) });
          this.CONSUME1(RParen);
        },
      },
      { ALT: () => resultTypes.push(this.SUBRULE1(this.type)) },
    ]);
    this.CONSUME(LBrace);
    const body: OpNode[] = [];
    this.MANY1(() => body.push(this.SUBRULE(this.op)));
    const ret = this.CONSUME(ReturnKw);
    const retValues: IToken[] = [];
    this.MANY_SEP2({ SEP: Comma, DEF: () => retValues.push(this.CONSUME(ValueName)) });
    this.CONSUME(RBrace);
    return { name, params, resultTypes, body, ret, retValues };
  });

  private param = this.RULE("param", (): ParamNode => {
    const name = this.CONSUME(ValueName);
    this.CONSUME(Colon);
    return { name, type: this.SUBRULE(this.type) };
  });

  private type = this.RULE("type", (): TypeNode => {
    const dtype = this.CONSUME(Identifier);
    const dims: IToken[] = [];
    this.CONSUME(LBracket);
    this.MANY_SEP({ SEP: Comma, DEF: () => dims.push(this.CONSUME(NumberLit)) });
    this.CONSUME(RBracket);
    return { dtype, dims };
  });

  private op = this.RULE("op", (): OpNode => {
    const result = this.CONSUME(ValueName);
    this.CONSUME(Equals);
    const name = this.CONSUME(Identifier);
    const operands: IToken[] = [];
    this.MANY_SEP({ SEP: Comma, DEF: () => operands.push(this.CONSUME1(ValueName)) });
    const attrs: AttrNode[] = [];
    this.OPTION(() => {
      this.CONSUME(LBrace);
      this.MANY_SEP1({ SEP: Comma, DEF: () => attrs.push(this.SUBRULE(this.attr)) });
      this.CONSUME(RBrace);
    });
    this.CONSUME(Colon);
    const type = this.SUBRULE(this.type);
    const loc = this.OPTION1(() => this.SUBRULE(this.loc));
    return { result, name, operands, attrs, type, loc };
  });

  private attr = this.RULE("attr", (): AttrNode => {
    const name = this.CONSUME(Identifier);
    this.CONSUME(Equals);
    return { name, value: this.SUBRULE(this.attrValue) };
  });

  private attrValue = this.RULE("attrValue", (): RawValue => {
    return this.OR([
      { ALT: (): RawValue => ({ tag: "scalar", tok: this.CONSUME(NumberLit) }) },
      { ALT: (): RawValue => ({ tag: "scalar", tok: this.CONSUME(Identifier) }) },
      {
        ALT: (): RawValue => {
          const open = this.CONSUME(LBracket);
          const items: IToken[] = [];
          this.MANY_SEP({
            SEP: Comma,
            DEF: () =>
              items.push(
                this.OR1([{ ALT: () => this.CONSUME1(NumberLit) }, { ALT: () => this.CONSUME1(Identifier) }]),
              ),
          });
          this.CONSUME(RBracket);
          return { tag: "list", open, items };
        },
      },
    ]);
  });

  private loc = this.RULE("loc", (): LocNode => {
    this.CONSUME(LocKw);
    this.CONSUME(LParen);
    const file = this.CONSUME(StringLit);
    this.CONSUME(Colon);
    const line = this.CONSUME(NumberLit);
    this.CONSUME1(Colon);
    const col = this.CONSUME1(NumberLit);
    const close = this.CONSUME(RParen);
    return { file, line, col, close, next: this.LA(1) };
  });
}

const parser = new IrParser();

// ---------------------------------------------------------------- entry points

/** Every func in the text, in order. */
export function parseModule(text: string): Func[] {
  const { funcs, comments } = parseSyntax(text);
  return funcs.map((f) => buildFunc(f, comments));
}

/** The one func in the text. */
export function parseFunc(text: string): Func {
  const { funcs, comments } = parseSyntax(text);
  if (funcs.length !== 1) {
    const at = funcs[1] ? pos(funcs[1].name) : endPos(text);
    throw new ParseError(`expected exactly one func, found ${funcs.length}`, at);
  }
  return buildFunc(funcs[0]!, comments);
}

interface Syntax {
  readonly funcs: FuncNode[];
  /** Comments by the line they are on (a line holds at most one). */
  readonly comments: ReadonlyMap<number, IToken>;
}

function parseSyntax(text: string): Syntax {
  const lexed = lexer.tokenize(text);
  parser.input = lexed.tokens;
  const funcs = parser.module();
  // Report whichever problem comes first in the text.
  const problems: { offset: number; error: ParseError }[] = [];
  const lexError = lexed.errors[0];
  if (lexError) {
    const ch = JSON.stringify(text.slice(lexError.offset, lexError.offset + 1));
    problems.push({
      offset: lexError.offset,
      error: new ParseError(`unexpected character ${ch}`, { line: lexError.line ?? 1, col: lexError.column ?? 1 }),
    });
  }
  const open = lexed.tokens.find((t) => t.tokenType === Unterminated);
  if (open) problems.push({ offset: open.startOffset, error: new ParseError("unterminated string", pos(open)) });
  const parseError: IRecognitionException | undefined = parser.errors[0];
  if (parseError) {
    const t = parseError.token;
    const eof = t.tokenType === EOF || Number.isNaN(t.startOffset);
    problems.push({
      offset: eof ? text.length : t.startOffset,
      error: new ParseError(parseError.message, eof ? endPos(text) : pos(t)),
    });
  }
  problems.sort((a, b) => a.offset - b.offset);
  if (problems[0]) throw problems[0].error;
  const comments = new Map<number, IToken>();
  for (const c of lexed.groups["comments"] ?? []) comments.set(c.startLine ?? 0, c);
  return { funcs, comments };
}

// ---------------------------------------------------------------- building the func

const pos = (t: IToken): { line: number; col: number } => ({ line: t.startLine ?? 1, col: t.startColumn ?? 1 });

function endPos(text: string): { line: number; col: number } {
  const lines = text.split(/\r\n|\r|\n/);
  return { line: lines.length, col: lines.at(-1)!.length + 1 };
}

function buildFunc(node: FuncNode, comments: ReadonlyMap<number, IToken>): Func {
  const env = new Map<string, Value>();
  const define = (tok: IToken, v: Value) => {
    if (env.has(tok.image)) throw new ParseError(`value ${tok.image} is defined twice`, pos(tok));
    env.set(tok.image, v);
  };
  const use = (tok: IToken): Value => {
    const v = env.get(tok.image);
    if (!v) throw new ParseError(`value ${tok.image} is not defined`, pos(tok));
    return v;
  };
  const params = node.params.map((p) => {
    const v = newValue(buildType(p.type), p.name.image.slice(1));
    define(p.name, v);
    return v;
  });
  const resultTypes = node.resultTypes.map(buildType);
  const body: Op[] = node.body.map((o) => {
    const operands = o.operands.map(use);
    const op = buildOp(o, operands, comments);
    define(o.result, op.result);
    return op;
  });
  const results = node.retValues.map(use);
  if (results.length !== resultTypes.length) {
    throw new ParseError(
      `return gives ${results.length} value(s) but the signature declares ${resultTypes.length}`,
      pos(node.ret),
    );
  }
  results.forEach((r, i) => {
    const declared = resultTypes[i]!;
    if (!typeEq(r.type, declared)) {
      const tok = node.retValues[i]!;
      const detail = `return value ${tok.image} is ${typeStr(r.type)} but the signature declares ${typeStr(declared)}`;
      throw new ParseError(detail, pos(tok));
    }
  });
  return verify({ name: funcName(node.name), params, body, results });
}

function funcName(tok: IToken): string {
  return tok.tokenType === QuotedFuncName ? parseString(tok, tok.image.slice(1)) : tok.image.slice(1);
}

function parseString(tok: IToken, quoted: string): string {
  try {
    const s: unknown = JSON.parse(quoted);
    if (typeof s === "string") return s;
  } catch {
    // reported below
  }
  throw new ParseError(`bad string ${quote(quoted)}: expected a JSON string`, pos(tok));
}

function buildType(t: TypeNode): TensorType {
  const dtype = dtypeFromShortName(t.dtype.image);
  if (dtype === undefined) {
    throw new ParseError(`unknown type '${t.dtype.image}': expected f32, f16, bf16, i32, u32 or bool`, pos(t.dtype));
  }
  return { dtype, shape: t.dims.map((d) => nonNegativeInt(d, "a dimension")) };
}

function buildOp(o: OpNode, operands: readonly Value[], comments: ReadonlyMap<number, IToken>): Op {
  const name = o.name.image;
  if (!isOpName(name)) throw new ParseError(`unknown op '${name}'`, pos(o.name));
  const attrs = buildAttrs(name, o);
  const result = newValue(buildType(o.type));
  const loc = o.loc ? buildLoc(o.loc, comments) : undefined;
  return makeOp(name, operands, attrs, result, loc) as Op;
}

function isOpName(s: string): s is OpName {
  return Object.hasOwn(registry, s);
}

function buildAttrs<K extends OpName>(op: K, o: OpNode): Attrs[K] {
  const schema = registry[op].attrs as Readonly<Record<string, AttrKind>>;
  const out: Record<string, unknown> = {};
  for (const a of o.attrs) {
    const key = a.name.image;
    const kind = Object.hasOwn(schema, key) ? schema[key] : undefined;
    if (kind === undefined) {
      const known = Object.keys(schema);
      const expected = known.length === 0 ? "no attributes" : `one of ${known.join(", ")}`;
      throw new ParseError(`unknown attribute '${key}' of ${op}: expected ${expected}`, pos(a.name));
    }
    if (Object.hasOwn(out, key)) throw new ParseError(`attribute '${key}' is given twice`, pos(a.name));
    out[key] = attrValue(a, kind);
  }
  for (const key of Object.keys(schema)) {
    if (!Object.hasOwn(out, key)) throw new ParseError(`missing attribute '${key}' of ${op}`, pos(o.name));
  }
  // The schema was checked key by key and each value converted by its kind.
  return out as Attrs[K];
}

function attrValue(a: AttrNode, kind: AttrKind): unknown {
  const v = a.value;
  const wrong = (what: string, at: IToken): never => {
    const found = v.tag === "list" ? "a list" : quote(v.tok.image);
    throw new ParseError(`attribute '${a.name.image}' expects ${what}, found ${found}`, pos(at));
  };
  switch (kind) {
    case "int":
      return v.tag === "scalar" ? integer(v.tok, () => wrong("an integer", v.tok)) : wrong("an integer", v.open);
    case "number":
      return v.tag === "scalar" ? number(v.tok, () => wrong("a number", v.tok)) : wrong("a number", v.open);
    case "dtype": {
      if (v.tag === "list") return wrong("a dtype", v.open);
      const d: DType | undefined = v.tok.tokenType === Identifier ? dtypeFromShortName(v.tok.image) : undefined;
      return d ?? wrong("a dtype (f32, f16, bf16, i32, u32 or bool)", v.tok);
    }
    case "ints":
      return v.tag === "list"
        ? v.items.map((t) => integer(t, () => wrong("a list of integers", t)))
        : wrong("a list of integers", v.tok);
    case "data":
      return v.tag === "list"
        ? Float64Array.from(v.items.map((t) => number(t, () => wrong("a list of numbers", t))))
        : wrong("a list of numbers", v.tok);
    default:
      return kind satisfies never;
  }
}

const NUMBER_SYNTAX = /^-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/;
const INT_SYNTAX = /^-?[0-9]+$/;

/** A number literal, or `inf`/`nan` (which lex as names); `otherwise` for any other token. */
function number(t: IToken, otherwise: () => never): number {
  if (t.tokenType === Identifier) {
    if (t.image === "inf") return Infinity;
    if (t.image === "nan") return NaN;
    return otherwise();
  }
  if (t.image === "-inf") return -Infinity;
  if (!NUMBER_SYNTAX.test(t.image)) throw new ParseError(`bad number ${quote(t.image)}`, pos(t));
  return Number(t.image);
}

function integer(t: IToken, otherwise: () => never): number {
  const x = number(t, otherwise);
  if (!INT_SYNTAX.test(t.image)) return otherwise();
  if (!Number.isSafeInteger(x)) throw new ParseError(`integer ${quote(t.image)} is too large`, pos(t));
  return x === 0 ? 0 : x;
}

function nonNegativeInt(t: IToken, what: string): number {
  const bad = (): never => {
    throw new ParseError(`expected ${what} (a non-negative integer), found ${quote(t.image)}`, pos(t));
  };
  const x = integer(t, bad);
  return x < 0 || t.image.startsWith("-") ? bad() : x;
}

function buildLoc(l: LocNode, comments: ReadonlyMap<number, IToken>): Loc {
  const file = parseString(l.file, l.file.image);
  const line = nonNegativeInt(l.line, "a line number");
  const col = nonNegativeInt(l.col, "a column number");
  const c = comments.get(l.close.startLine ?? 0);
  const follows =
    c !== undefined &&
    c.startOffset > l.close.startOffset &&
    (l.next.tokenType === EOF || Number.isNaN(l.next.startOffset) || l.next.startOffset > c.startOffset);
  if (!follows) return { file, line, col };
  // `// expr`: the one space after the slashes belongs to the comment syntax.
  const body = c.image.slice(2);
  return { file, line, col, expr: body.startsWith(" ") ? body.slice(1) : body };
}
