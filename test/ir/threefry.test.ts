import { describe, expect, it } from "vitest";
import { threefry2x32 } from "../../src/ir/threefry.js";

// Known-answer vectors for Threefry-2x32 with 20 rounds from Random123's kat_vectors, whose lines
// read `threefry2x32 20 ctr0 ctr1 key0 key1 out0 out1`; threefry2x32 here takes the key first.
const KAT: { name: string; ctr: [number, number]; key: [number, number]; out: [number, number] }[] = [
  { name: "zeros", ctr: [0x00000000, 0x00000000], key: [0x00000000, 0x00000000], out: [0x6b200159, 0x99ba4efe] },
  { name: "ones", ctr: [0xffffffff, 0xffffffff], key: [0xffffffff, 0xffffffff], out: [0x1cb996fc, 0xbb002be7] },
  { name: "pi digits", ctr: [0x243f6a88, 0x85a308d3], key: [0x13198a2e, 0x03707344], out: [0xc4923a9c, 0x483df7a0] },
];

describe("threefry2x32", () => {
  it.each(KAT)("matches the Random123 known answer ($name)", ({ ctr, key, out }) => {
    expect(threefry2x32(key[0], key[1], ctr[0], ctr[1])).toEqual(out);
  });

  it("does not treat key and counter alike", () => {
    // The third vector has distinct key and counter, so swapping them must change the answer.
    const { ctr, key, out } = KAT[2]!;
    expect(threefry2x32(ctr[0], ctr[1], key[0], key[1])).not.toEqual(out);
  });

  it("returns uint32 words", () => {
    for (let c = 0; c < 64; c++) {
      for (const w of threefry2x32(0xdeadbeef, 0x12345678, c, 0xffffffff - c)) {
        expect(Number.isInteger(w) && w >= 0 && w <= 0xffffffff).toBe(true);
      }
    }
  });
});
