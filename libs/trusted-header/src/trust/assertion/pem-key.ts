import { importSPKI, importX509, type JWSHeaderParameters } from 'jose';
import type { MaybePromise } from '../../common/maybe-promise.js';
import { lookupFailure, type KeyLookup, type KeySource } from './key-source.js';

/**
 * One public key from PEM text (SPKI or an X.509 certificate), imported once per pinned algorithm. A `kid` in
 * the token is ignored: there is one key, and a token cannot choose another.
 */
export class PemKey implements KeySource {
  private readonly imported = new Map<string, MaybePromise<KeyLookup>>();

  constructor(
    private readonly pem: string,
    private readonly algorithms: readonly string[],
  ) {}

  async warmUp(): Promise<string | null> {
    for (const alg of this.algorithms) {
      const lookup = await this.keyForAlg(alg);
      if (lookup.kind !== 'key') return lookup.detail;
    }
    return null;
  }

  keyFor(header: Readonly<JWSHeaderParameters>): MaybePromise<KeyLookup> {
    return this.keyForAlg(header.alg ?? '');
  }

  private keyForAlg(alg: string): MaybePromise<KeyLookup> {
    const known = this.imported.get(alg);
    if (known !== undefined) return known;
    // Only pinned algorithms reach an import, so the map holds at most one entry per pinned algorithm.
    if (!this.algorithms.includes(alg)) {
      return { kind: 'invalid', code: 'ERR_JOSE_ALG_NOT_ALLOWED', detail: 'the token algorithm is not allowed' };
    }
    const pending = this.import(alg).then((lookup) => {
      this.imported.set(alg, lookup);
      return lookup;
    });
    this.imported.set(alg, pending);
    return pending;
  }

  private async import(alg: string): Promise<KeyLookup> {
    try {
      const key = this.pem.includes('-----BEGIN CERTIFICATE-----')
        ? await importX509(this.pem, alg)
        : await importSPKI(this.pem, alg);
      return { kind: 'key', key };
    } catch (error) {
      // The configured key is not of the kind this algorithm needs (an EC key for an RSA token, say).
      return lookupFailure(error, 'ERR_KEY_IMPORT_FAILED', `the configured public key cannot verify ${alg}`);
    }
  }
}
