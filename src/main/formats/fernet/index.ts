/** Fernet tokens (fernet/spec): keys, streaming verification and decryption, streaming encryption. */
export { deriveFernetKey, fernetKeyId, wipeFernetKey, type FernetKey, type Pbkdf2Params } from './key';
export { FernetTokenReader, fernetDecryptStream, type FernetOutcome, type FernetReaderOptions, type FernetTokenFacts } from './reader';
export { fernetEncryptStream } from './writer';
export {
  fernetFirstBlock,
  looksLikeFernetText,
  readFernetTimestamp,
  type FernetFailureKind,
  type KeyEvidence,
} from './token';
