/** Primitive decoders of the custom archive format (spec §2). */

/**
 * Decodes an archive Int at `at`: one sign byte (non-zero = negative) then `intSize` bytes of
 * magnitude, least significant first. Not two's complement. Magnitudes above 2^53 lose precision,
 * which no real archive (intSize 4) can produce.
 */
export function decodePgInt(buf: Buffer, at: number, intSize: number): number {
  let magnitude: number;
  if (intSize === 4) {
    magnitude = buf.readUInt32LE(at + 1);
  } else {
    magnitude = 0;
    for (let b = intSize - 1; b >= 0; b--) magnitude = magnitude * 256 + (buf[at + 1 + b] as number);
  }
  return buf[at] === 0 ? magnitude : -magnitude;
}

/** Decodes an unsigned little-endian offset of `size` bytes (the bytes after an Offset's flag byte). */
export function decodePgOffset(buf: Buffer, at: number, size: number): number {
  let value = 0;
  for (let b = size - 1; b >= 0; b--) value = value * 256 + (buf[at + b] as number);
  return value;
}
