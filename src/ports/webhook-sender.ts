/** The port for delivering webhooks: checking a target URL, and one POST to it. */

export interface WebhookSender {
  /** Why a URL may not be a webhook's target (not http or https, or an address refused), or null when it may. */
  refuse(url: string): Promise<string | null>;
  /** POSTs `body`; answers the status, or throws on a network failure, a refused address, the timeout or `signal`. */
  send(url: string, body: string, headers: Record<string, string>, timeoutMs: number, signal?: AbortSignal): Promise<number>;
}
