// Placeholder until the host addon's loader lands: the addon is reported missing.
export type LibraryHandle = { readonly __library: unique symbol };
export type KernelHandle = { readonly __kernel: unique symbol };
export type DispatchOrder = "forward" | "reverse" | "shuffle";
export interface DispatchOptions {
  readonly cooperative: boolean;
  readonly order?: DispatchOrder;
  readonly seed?: number;
  readonly workers?: number;
  readonly debug?: boolean;
}
export interface HostAddon {
  readonly abi: number;
  loadLibrary(path: string): LibraryHandle;
  unloadLibrary(lib: LibraryHandle): void;
  kernel(lib: LibraryHandle, entry: string): KernelHandle;
  dispatch(
    k: KernelHandle,
    buffers: readonly (ArrayBuffer | ArrayBufferView)[],
    groups: number,
    threadsPerGroup: number,
    opts: DispatchOptions,
  ): void;
  alloc(bytes: number, opts?: { guard?: boolean }): ArrayBuffer;
  free(buf: ArrayBuffer): void;
  liveBytes(): number;
  readonly workers: number;
}
export const loadHostAddon = (): HostAddon | undefined => undefined;
export const hostAddonProblem = (): string | undefined => "the host addon is not built";
export const hostSource = (msl: string): string => msl;
