// DBackup's encrypted, compressed backups: whole-file AES-256-GCM (IV and tag from the sidecar), capped decompression, v2 seekable archives.
export { WholeFileDecipher, type DecipherOptions, type WholeFileSecrets } from './decipher';
export { badCompressionError, bombError, corruptError, noSidecarError, wrongKeyError, type KeyRef, type PayloadFailure } from './errors';
export { HEAD_BYTES, judgeHead, knownMagic, type HeadVerdict, type PayloadCompression } from './head';
export { inflateStages, isDecompressionBomb, typedInflateError } from './inflate';
export { authenticateWholeFile, readPayload, untilWritable, type PayloadDecipher, type PayloadOutcome, type ReadPayloadOptions } from './payload';
export {
  archiveNonce, deriveArchiveKeys, openSealed, parseSeekableManifest, readSeekableIndex, SealedEntryDecipher,
  type IndexLimits, type SeekableDatabase, type SeekableDirectory, type SeekableEntry, type SeekableIndex, type SeekableManifest,
} from './seekable';
