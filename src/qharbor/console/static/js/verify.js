// Checks a result's ML-DSA-65 signature in the browser, against the centre's published keys.

import {ml_dsa65} from '../vendor/noble-post-quantum.js';

function bytes(base64) {
  return Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
}

function same(a, b) {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  return ka.length === kb.length && ka.every((k) => Object.hasOwn(b, k) && same(a[k], b[k]));
}

/**
 * Verify the result shown against its signature.
 *
 * `signed` is the centre's answer with the exact signed bytes (`message`); the page
 * checks that those bytes hold the result it shows and the job it asked for, then
 * checks the signature over them with the published key `keys` names.
 * Returns {ok, reason, keyId}.
 */
export function verifyResult(jobId, result, signed, keys) {
  const key = (keys.keys || []).find((k) => k.id === signed.key_id && k.algorithm === 'ML-DSA-65');
  if (!key) return {ok: false, reason: `the signing key ${signed.key_id} is not published by this centre`};
  const message = bytes(signed.message);
  let content;
  try {
    content = JSON.parse(new TextDecoder().decode(message));
  } catch {
    return {ok: false, reason: 'the signed message is not JSON'};
  }
  const shown = Object.fromEntries(Object.entries(result).filter(([k]) => k !== 'signature'));
  if (!same(content.result, shown)) return {ok: false, reason: 'the signed message is not the result shown'};
  if (!content.context || content.context.job_id !== jobId) return {ok: false, reason: 'the signature is for another job'};
  if (!same(content.context, (result.signature || {}).context)) return {ok: false, reason: 'the signature context differs'};
  let ok = false;
  try {
    ok = ml_dsa65.verify(bytes(signed.signature), message, bytes(key.public_key),
      {context: new TextEncoder().encode(signed.context_string)});
  } catch {
    ok = false;
  }
  return ok ? {ok: true, keyId: key.id, reason: `signed by ${key.id}`}
    : {ok: false, reason: 'the signature does not match the result: it was changed after signing'};
}
