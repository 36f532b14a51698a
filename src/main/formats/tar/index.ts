// Streaming .tar.gz reading (capped, name-checked) and writing, over tar-stream and zlib.
export { DEFAULT_TAR_LIMITS, iterateTarGz, type IterateTarOptions, type TarEntry, type TarLimits } from './read';
export { createTarGz, type CreateTarOptions, type TarSource } from './write';
export { safeEntryName } from './names';
