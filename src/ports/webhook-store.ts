/**
 * The port for webhooks: their records, and per webhook and namespace how far deliveries have gone in the
 * namespace's change log (the log is the outbox: a write does no work for webhooks, and deliveries resume from
 * the store after a restart).
 */
import type { ChangeOp } from './change-log.js';

export interface WebhookRecord {
  id: string;
  url: string;
  /** Namespace patterns (`*` matches any run of characters). */
  namespaces: string[];
  /** Ops delivered; the others are passed over. */
  events: ChangeOp[];
  secret: string;
  createdAt: number;
}

/** Where deliveries of one webhook stand in one namespace. */
export interface WebhookCursor {
  webhookId: string;
  namespaceId: number;
  /** Changes up to this seq were delivered (or passed over). */
  deliveredSeq: number;
  /** Failed attempts in a row. */
  attempts: number;
  /** No attempt before this (epoch ms). */
  nextAt: number;
  lastAttemptAt: number | null;
  lastError: string | null;
}

export interface WebhookStore {
  insert(webhook: WebhookRecord): Promise<void>;
  list(): Promise<WebhookRecord[]>;
  get(id: string): Promise<WebhookRecord | undefined>;
  /** False when there was none. */
  delete(id: string): Promise<boolean>;
  /** Starts deliveries of a webhook in a namespace after `seq`, unless they started already. */
  startCursor(webhookId: string, namespaceId: number, seq: number): Promise<void>;
  cursors(webhookId: string): Promise<WebhookCursor[]>;
  /** Cursors with changes to deliver (their namespace's head is past them) and due at `now`. */
  due(now: number, limit: number): Promise<WebhookCursor[]>;
  /**
   * Claims a due cursor for one delivery until `until` (epoch ms): true for one claimer only, and only while the
   * cursor is as read (`deliveredSeq`) and due at `now`. Several nodes deliver; one cursor has one delivery in
   * flight, and a claimer that dies leaves it due again when the claim runs out.
   */
  claim(cursor: Pick<WebhookCursor, 'webhookId' | 'namespaceId' | 'deliveredSeq'>, now: number, until: number): Promise<boolean>;
  /** Delivered up to `seq`: the failure count starts again. */
  delivered(webhookId: string, namespaceId: number, seq: number, at: number): Promise<void>;
  /** A failed attempt: the next one is not before `nextAt`. */
  failed(webhookId: string, namespaceId: number, error: string, at: number, nextAt: number): Promise<number>;
}
