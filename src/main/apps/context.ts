import { LifeboatError } from '../../shared/errors';
import type { Installation } from '../../shared/installations';
import type { Core } from '../core';
import { sshSecrets } from '../installations/connection-test';
import { connectSsh } from '../transport/ssh/client';
import type { SshSession } from '../transport/ssh/session';
import { createHttpsClient, type HttpsClient } from '../transport/https';
import type { AdapterContext, StepContext } from './adapter';
import { createKeyResolver } from './keys';

/** A module context whose connections are opened on first use; `close` ends them. */
export interface OwnedAdapterContext extends AdapterContext {
  close(): Promise<void>;
}

/** Builds the context a module's verbs get for one installation during one job. */
export function createAdapterContext(core: Core, installation: Installation, step: StepContext): OwnedAdapterContext {
  let session: Promise<SshSession> | null = null;
  let client: Promise<HttpsClient> | null = null;
  return {
    ...step,
    installation,
    secret: (purpose) => core.registry.secret(installation.id, purpose),
    oneTimeCode: () => core.oneTimeCodes.take(installation.id),
    keys: createKeyResolver(installation, (slot) => core.registry.secret(installation.id, slot), core.sessionKeys),
    sessions: core.sessions.storeFor(installation.id),
    stagingDir: core.home.stagingDir,
    ssh() {
      if (!installation.ssh) throw new LifeboatError('APP_UNSUPPORTED', `"${installation.name}" has no SSH connection; add one to do this.`);
      // A session that dropped (a cut connection) is replaced, so a resumed transfer can go on.
      const reconnect = async (previous: Promise<SshSession> | null): Promise<SshSession> => {
        const old = previous ? await previous.catch(() => null) : null;
        if (old?.isOpen) return old;
        return connectSsh(installation.ssh!, { secrets: await sshSecrets(core, installation), signal: step.signal });
      };
      session = reconnect(session);
      return session;
    },
    https() {
      if (!installation.https) throw new LifeboatError('APP_UNSUPPORTED', `"${installation.name}" has no HTTPS connection; add one to do this.`);
      client ??= (async () => {
        const https = installation.https!;
        let bearerToken: string | undefined;
        if (https.auth === 'bearer') {
          const token = await core.registry.secret(installation.id, 'api-token');
          if (!token) throw new LifeboatError('SECRET_REQUIRED', `No API token is stored for "${installation.name}"; edit the installation to enter it.`, { details: { purpose: 'api-token' } });
          bearerToken = token;
        }
        return createHttpsClient(https, { signal: step.signal, ...(bearerToken ? { bearerToken } : {}) });
      })();
      return client;
    },
    async close() {
      const closing: Promise<unknown>[] = [];
      if (session) closing.push(session.then((s) => s.close(), () => undefined));
      if (client) closing.push(client.then((c) => c.close(), () => undefined));
      await Promise.all(closing);
    },
  };
}
