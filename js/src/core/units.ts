/**
 * What the token view draws: tokens, or words (pieces with the same word number joined, scores summed —
 * the sum keeps completeness), with special tokens left out unless asked for. Pure, so it is unit-tested.
 */

export interface TokenLike {
  text: string;
  special: boolean;
  word: number;
  space: boolean;
}

/** One drawn unit: its text, score, whether a space precedes it, and the token indices it covers. */
export interface Unit {
  text: string;
  score: number;
  space: boolean;
  special: boolean;
  tokens: number[];
}

export function textUnits(tokens: TokenLike[], scores: Float32Array | null, words: boolean, showSpecial: boolean): Unit[] {
  const units: Unit[] = [];
  let previousWord: number | null = null;
  tokens.forEach((token, i) => {
    if (token.special && !showSpecial) {
      previousWord = null;
      return;
    }
    const score = scores ? scores[i] : 0;
    const last = units[units.length - 1];
    if (words && !token.special && last && !last.special && previousWord === token.word) {
      last.text += token.text;
      last.score += score;
      last.tokens.push(i);
    } else {
      units.push({ text: token.text, score, space: token.space, special: token.special, tokens: [i] });
    }
    previousWord = token.word;
  });
  return units;
}

/** Relative luminance (sRGB, 0..1) of a colour: dark backgrounds get light text. */
export function luminance(r: number, g: number, b: number): number {
  const lin = (c: number) => {
    const s = c / 255;
    return s <= 0.04045 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
}
