/** Equal bit for bit: -0 is not 0, NaN equals NaN (Object.is), and the lengths match. */
export const sameBits = (a: ArrayLike<number>, b: ArrayLike<number>): boolean => a.length === b.length && Array.prototype.every.call(a, (x: number, i: number) => Object.is(x, b[i]));
