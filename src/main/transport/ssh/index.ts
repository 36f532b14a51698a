/** Lifeboat's SSH transport: connect (fail-closed host keys), exec, SFTP, forwarding, and the OpenSSH file formats. */
export { connectSsh, parseJumpList } from './client';
export type { ConnectSshOptions } from './client';
export { SshSession } from './session';
export type { ConnectedHost, HostKeyTrust, SshSessionInfo } from './session';
export { shellQuote } from './exec';
export type { ExecExit, ExecOptions, ExecResult, ExecStream, ExecStreamOptions } from './exec';
export { Sftp } from './sftp';
export type { RemoteEntry, RemoteStat, SftpReadOptions, SftpWriteOptions } from './sftp';
export type { ForwardedStream, LocalTunnel } from './tunnel';
export { KnownHosts, describeHostKey, formatKnownHostsLine, hashKnownHostsName, keyBlobAlgorithm, knownHostsName, sha256Fingerprint } from './known-hosts';
export type { HostKeyIdentity, KnownHostEntry, KnownHostsVerdict } from './known-hosts';
export { SshConfig } from './ssh-config';
export type { ResolvedSshConfig, SshConfigOverrides, SshConfigSource } from './ssh-config';
