/**
 * Webhook deliveries over node:http and node:https, guarded against server-side request forgery: only http and
 * https, and unless private targets are allowed, no loopback, private, link-local, shared, multicast or
 * reserved address, neither when a webhook is created (every address its host resolves to) nor when it is
 * delivered (the connection's own DNS lookup refuses them, so a name that later resolves elsewhere is caught).
 */
import { lookup as dnsLookup, type LookupAddress, type LookupAllOptions } from 'node:dns';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import type { WebhookSender } from '../../ports/webhook-sender.js';

const BLOCKED = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  BLOCKED.addSubnet(net, prefix, 'ipv4');
}
for (const [net, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['64:ff9b::', 96],
  ['100::', 64],
  ['2001:db8::', 32],
  ['fc00::', 7],
  ['fe80::', 10],
  ['fec0::', 10],
  ['ff00::', 8],
] as const) {
  BLOCKED.addSubnet(net, prefix, 'ipv6');
}

/** True for an address a webhook may not reach without --webhooks-allow-private. */
export function isPrivateAddress(address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return BLOCKED.check(mapped[1]!, 'ipv4');
  const family = isIP(address);
  if (family === 0) return true;
  return BLOCKED.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

const resolveAll = (host: string): Promise<LookupAddress[]> =>
  new Promise((resolve, reject) => dnsLookup(host, { all: true } as LookupAllOptions, (error, addresses) => (error ? reject(error) : resolve(addresses))));

export function createHttpWebhookSender({ allowPrivate }: { allowPrivate: boolean }): WebhookSender {
  /** The connection's DNS lookup, refusing private addresses (Node asks for one address or for all). */
  const guardedLookup: LookupFunction = (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true } as LookupAllOptions, (error, addresses) => {
      if (error) return callback(error, '', 0);
      const refused = addresses.find((a) => isPrivateAddress(a.address));
      if (refused) return callback(Object.assign(new Error(`${hostname} resolves to ${refused.address}, a private address`), { code: 'EPRIVATE' }), '', 0);
      if ((options as { all?: boolean }).all) (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
      else callback(null, addresses[0]!.address, addresses[0]!.family);
    });
  };

  const hostOf = (url: URL): string => url.hostname.replace(/^\[|\]$/g, '');

  return {
    async refuse(raw) {
      let url: URL;
      try {
        url = new URL(raw);
      } catch {
        return 'not a URL';
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:') return `only http and https URLs, not ${url.protocol.replace(':', '')}`;
      if (allowPrivate) return null;
      const host = hostOf(url);
      if (isIP(host)) return isPrivateAddress(host) ? `${host} is a private address` : null;
      let addresses: LookupAddress[];
      try {
        addresses = await resolveAll(host);
      } catch (error) {
        return `${host} does not resolve (${(error as NodeJS.ErrnoException).code ?? 'error'})`;
      }
      const refused = addresses.find((a) => isPrivateAddress(a.address));
      return refused ? `${host} resolves to ${refused.address}, a private address` : null;
    },

    send(raw, body, headers, timeoutMs, signal) {
      const url = new URL(raw);
      const host = hostOf(url);
      if (!allowPrivate && isIP(host) && isPrivateAddress(host)) return Promise.reject(new Error(`${host} is a private address`));
      const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
      return new Promise<number>((resolve, reject) => {
        const req = request(
          url,
          {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), ...headers },
            signal: signal ? AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]) : AbortSignal.timeout(timeoutMs),
            ...(!allowPrivate && { lookup: guardedLookup }),
          },
          (res) => {
            // The answer's body is not read: drained, so that the connection ends.
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
            res.on('error', reject);
            res.on('close', () => {
              if (!res.complete) reject(new Error(`the answer was cut off (or took more than ${timeoutMs} ms)`));
            });
          },
        );
        req.on('error', (error) => reject(error.name === 'AbortError' ? new Error(`no answer within ${timeoutMs} ms`) : error));
        req.end(body);
      });
    },
  };
}
