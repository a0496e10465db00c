/**
 * Reading the content size from a zstd frame header (RFC 8878 §3.1.1.1),
 * so a decoder can refuse a frame that claims more than a limit before it
 * allocates anything.
 *
 * @module
 */

const MAGIC = 0xfd2fb528

/**
 * The frame's declared content size, or undefined when the bytes are not a
 * zstd frame header or the header does not declare the size.
 */
export function zstdFrameContentSize (frame: Uint8Array): number | undefined {
  if (frame.length < 6) return undefined
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength)
  if (view.getUint32(0, true) !== MAGIC) return undefined
  const descriptor = frame[4]!
  const fcsFlag = descriptor >> 6
  const singleSegment = (descriptor >> 5) & 1
  if ((descriptor >> 3) & 1) return undefined // reserved bit set: not a valid frame
  const dictIdFlag = descriptor & 3
  let at = 5 + (singleSegment === 1 ? 0 : 1) + [0, 1, 2, 4][dictIdFlag]!
  const fieldSize = fcsFlag === 0 ? singleSegment : [1, 2, 4, 8][fcsFlag]!
  if (fieldSize === 0) return undefined
  if (frame.length < at + fieldSize) return undefined
  switch (fieldSize) {
    case 1: return view.getUint8(at)
    case 2: return view.getUint16(at, true) + 256
    case 4: return view.getUint32(at, true)
    default: {
      const value = view.getBigUint64(at, true)
      return value > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(value)
    }
  }
}
