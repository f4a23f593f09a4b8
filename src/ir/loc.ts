// Where an op came from in the user's program.

export interface Loc {
  readonly file: string;
  readonly line: number;
  readonly col: number;
  /** The source text of the call (`x.matmul(w)`), when it could be resolved. */
  readonly expr?: string;
}

export const locStr = (l: Loc): string => `${l.file}:${l.line}:${l.col}`;
