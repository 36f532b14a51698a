/**
 * Playing audio out of an archive in the preview. The player (an <audio> element) cannot send the
 * twin's bearer token, so the UI asks for a ticket (`apps:media-url`): a random, unguessable path
 * that serves one member of one archive for an hour, with byte ranges so the player can seek. The
 * bytes come straight out of the archive (never unpacked to disk), converted by ffmpeg only when
 * the browser said it cannot play them.
 */
import { randomBytes } from 'node:crypto';
import type { ArchiveSourceRef } from '../../shared/apps';
import { LifeboatError } from '../../shared/errors';
import type { Core } from '../core';
import { TRANSCODED_CONTENT_TYPE, transcodeToOpus } from '../formats/media/ffmpeg';
import { openArchive } from './archive-access';
import type { MediaStream } from './module';
import { moduleOfArchive } from './preview';

const TICKET_LIFETIME_MS = 60 * 60_000;
const MAX_TICKETS = 256;

interface Ticket {
  source: ArchiveSourceRef;
  app: string | undefined;
  mediaId: string;
  transcode: boolean;
  expiresAt: number;
}

/** A member's bytes as served: ranged when the stored bytes are, whole when converted. */
export interface ServedMedia extends MediaStream {
  /** False for converted audio: its length is unknown until the end. */
  ranged: boolean;
}

/** Tickets of one core, in memory only. */
export class MediaTickets {
  private readonly tickets = new Map<string, Ticket>();

  constructor(private readonly core: Core) {}

  /** A ticket for one member; the path the player loads is `/media/<ticket>`. */
  issue(request: { source: ArchiveSourceRef; app?: string | undefined; mediaId: string; transcode: boolean }): string {
    const now = Date.now();
    for (const [id, ticket] of this.tickets) if (ticket.expiresAt <= now) this.tickets.delete(id);
    if (this.tickets.size >= MAX_TICKETS) this.tickets.delete(this.tickets.keys().next().value!);
    // Hex: a standard URL scheme lower-cases its host, where Electron's player carries the ticket.
    const id = randomBytes(24).toString('hex');
    this.tickets.set(id, { source: request.source, app: request.app, mediaId: request.mediaId, transcode: request.transcode, expiresAt: now + TICKET_LIFETIME_MS });
    return id;
  }

  /** Opens the member of a ticket (a byte range of it when asked and possible); NOT_FOUND for an unknown or expired ticket. */
  async open(ticketId: string, range: { start?: number; end?: number }, signal: AbortSignal): Promise<ServedMedia> {
    const ticket = this.tickets.get(ticketId);
    if (!ticket || ticket.expiresAt <= Date.now()) throw new LifeboatError('NOT_FOUND', 'This player link has expired; open the preview again.');
    const opened = await openArchive(this.core, ticket.source);
    const module = await moduleOfArchive(this.core, opened, ticket.app, () => undefined);
    if (!module.format.openMedia) throw new LifeboatError('APP_UNSUPPORTED', `${module.label} archives hold nothing Lifeboat can play.`);
    if (!ticket.transcode) return { ...(await module.format.openMedia(opened.access, ticket.mediaId, range)), ranged: true };
    const whole = await module.format.openMedia(opened.access, ticket.mediaId, {});
    return { stream: transcodeToOpus(whole.stream, signal), size: whole.size, start: 0, end: whole.size - 1, contentType: TRANSCODED_CONTENT_TYPE, ranged: false };
  }
}
