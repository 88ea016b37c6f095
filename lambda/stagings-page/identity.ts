/**
 * Who is asking: the ALB's `x-amzn-oidc-data` token, verified here with node:crypto, never trusted
 * unverified. The ALB signs it with ES256 (ECDSA P-256, SHA-256); the header names the key (`kid`)
 * and the load balancer (`signer`); the public key is a PEM at `<keys URL>/<kid>`. Its parts are
 * base64url *with* padding (not the JWT norm), so they are decoded leniently and the signature is
 * checked over the header and payload exactly as sent.
 */
import { createPublicKey, verify, type KeyObject } from 'node:crypto';

/** A verified person. */
export interface Identity {
  /** `email` when the token has one, else `sub`. */
  readonly who: string;
  readonly claims: Readonly<Record<string, unknown>>;
}

export interface VerifyOptions {
  /** The only accepted `signer`: this load balancer's ARN. */
  readonly loadBalancerArn: string;
  /** Where the keys are, without the trailing `/<kid>`. */
  readonly keysUrl: string;
  readonly nowMs: number;
  /** Fetches a key's PEM (tests inject one; default: fetch). */
  readonly fetchPem?: (url: string) => Promise<string>;
}

/** Why a token was refused: shown to the person, in words. */
export class IdentityRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IdentityRefused';
  }
}

/** Keys by kid, kept for the life of the function instance: a kid's key never changes. */
const keys = new Map<string, KeyObject>();

/** Drops the cached keys (tests). */
export function forgetKeys(): void {
  keys.clear();
}

async function defaultFetchPem(url: string): Promise<string> {
  const response = await fetch(url, { signal: AbortSignal.timeout(3000) });
  if (!response.ok) throw new IdentityRefused(`the load balancer's key could not be fetched (${response.status})`);
  return response.text();
}

function decodeJson(part: string): Record<string, unknown> {
  const value = JSON.parse(Buffer.from(part.replace(/=+$/, ''), 'base64url').toString('utf8'));
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new Error('not a JSON object');
  return value as Record<string, unknown>;
}

/** The ALB's token, verified: signature, key, signer, algorithm and expiry. Throws IdentityRefused. */
export async function verifyOidcData(token: string | undefined, o: VerifyOptions): Promise<Identity> {
  if (!token) throw new IdentityRefused('no sign-in: the request did not come through the load balancer\'s sign-in');
  const parts = token.split('.');
  if (parts.length !== 3) throw new IdentityRefused('the sign-in token is malformed');
  let header: Record<string, unknown>;
  let claims: Record<string, unknown>;
  try {
    header = decodeJson(parts[0]);
    claims = decodeJson(parts[1]);
  } catch {
    throw new IdentityRefused('the sign-in token is malformed');
  }
  if (header.alg !== 'ES256') throw new IdentityRefused(`the sign-in token is signed with ${JSON.stringify(header.alg)}, not ES256`);
  if (header.signer !== o.loadBalancerArn) throw new IdentityRefused('the sign-in token was signed by another load balancer');
  const kid = header.kid;
  if (typeof kid !== 'string' || !/^[A-Za-z0-9-]{1,128}$/.test(kid)) throw new IdentityRefused('the sign-in token names no valid key');
  let key = keys.get(kid);
  if (!key) {
    let pem: string;
    try {
      pem = await (o.fetchPem ?? defaultFetchPem)(`${o.keysUrl.replace(/\/+$/, '')}/${kid}`);
      key = createPublicKey(pem);
    } catch (e) {
      if (e instanceof IdentityRefused) throw e;
      throw new IdentityRefused('the load balancer\'s key for the sign-in token could not be read');
    }
    keys.set(kid, key);
  }
  const signature = Buffer.from(parts[2].replace(/=+$/, ''), 'base64url');
  const signed = Buffer.from(`${parts[0]}.${parts[1]}`);
  if (signature.length !== 64 || !verify('sha256', signed, { key, dsaEncoding: 'ieee-p1363' }, signature)) {
    throw new IdentityRefused('the sign-in token\'s signature is not the load balancer\'s');
  }
  const exp = header.exp ?? claims.exp;
  if (typeof exp !== 'number' || exp * 1000 <= o.nowMs) throw new IdentityRefused('the sign-in has expired: reload the page to sign in again');
  const who = typeof claims.email === 'string' && claims.email ? claims.email : claims.sub;
  if (typeof who !== 'string' || !who) throw new IdentityRefused('the sign-in token names nobody (no email, no sub)');
  return { who, claims };
}

/** Whether the identity's `claim` holds one of `values` (a list, or a string with spaces or commas). */
export function hasClaim(identity: Identity, claim: string | undefined, values: readonly string[]): boolean {
  if (!claim || values.length === 0) return false;
  const held = identity.claims[claim];
  const list = Array.isArray(held) ? held.map(String) : typeof held === 'string' ? held.split(/[\s,]+/) : [];
  return list.some((v) => values.includes(v));
}
