// The Nojoin backup archive (a ZIP, formats 1 and 2): reading at random, verifying, previewing,
// row checks before a restore, subset repacking and audio streaming. Facts: specs/nojoin.md §1, §3.
export { audioContentType, openAudioMember, type AudioMemberStream } from './audio';
export { compareAppVersions, LIFEBOAT_SUBSET_KEY, readBackupInfo, type NojoinBackupInfo, type NojoinExportWarnings } from './backup-info';
export { DEFAULT_JSON_LIMITS, JsonScanError, JsonStreamScanner, type JsonScanLimits, type JsonScanMode } from './json-scan';
export {
  audioFormatOf,
  previewNojoinArchive,
  previewNojoinZip,
  selectableItems,
  type NojoinDocumentSummary,
  type NojoinPreview,
  type NojoinPreviewResult,
  type NojoinRecordingSummary,
  type PreviewLocation,
} from './preview';
export { CONFIG_SELECTION, planNojoinSubset, repackNojoinSubset, type RepackOptions, type RepackResult, type SubsetPlan } from './repack';
export { describeRowProblem, isAcceptedDatetime, rowValidatorFor, type RowProblem, type RowValidator } from './rows';
export { assertNojoinWillRestore, BACKUP_INFO_MEMBER, CONFIG_MEMBER, readManifest, readTableRows, rowFailure, scanNojoinArchive, type ArchiveScan, type ScanOptions, type TableScan } from './scan';
export { createNojoinStreamVerifier, NojoinStreamVerifier, type NojoinStreamVerifierOptions } from './stream-verifier';
export { isNojoinTable, NOJOIN_FORMAT_VERSION, NOJOIN_TABLE_SPECS, NOJOIN_TABLES, RECORDING_CHILD_TABLES, tableOfMember, type NojoinTable } from './tables';
export { bufferByteSource, DEFAULT_ZIP_LIMITS, fileByteSource, NojoinZip, openZip, reopeningByteSource, spoolArchive, type ByteRangeSource, type ZipLimits, type ZipMember } from './zip';
