// Throttling SMTP AUTH, in the spirit of Postfix's anvil (smtpd_client_auth_rate_limit) and
// Haraka's limit plugin: each wrong password from an address, or for a user name, is answered a
// little later than the one before; past `maxFailures` within `windowSeconds` the address and the
// user name are locked out for `lockoutSeconds`, when even the right password is refused (454), so
// guessing from one address or spreading guesses over many connections both stall.
export interface AuthGuardSettings {
  /** Failures (per address, and per user name) before a lock-out. */
  maxFailures: number;
  /** How long a failure counts. */
  windowSeconds: number;
  /** How long a lock-out lasts. */
  lockoutSeconds: number;
  /** Delay of the first wrong answer; each further one doubles it, up to 5 s. */
  firstDelayMs: number;
}

interface Tally { failures: number[]; lockedUntil: number }

export class AuthGuard {
  private readonly settings: AuthGuardSettings;
  private readonly now: () => number;
  private readonly tallies = new Map<string, Tally>();

  constructor(settings: AuthGuardSettings, now: () => number = Date.now) {
    this.settings = settings;
    this.now = now;
  }

  /** Until when this address or user name is locked out (0: not locked). */
  lockedUntil(address: string, user: string): number {
    const t = this.now();
    let until = 0;
    for (const k of this.keys(address, user)) {
      const tally = this.tallies.get(k);
      if (tally && tally.lockedUntil > t) until = Math.max(until, tally.lockedUntil);
    }
    return until;
  }

  /** Records a wrong password; returns how long to wait before answering, and whether this locked it. */
  failed(address: string, user: string): { delayMs: number; locked: boolean } {
    const t = this.now();
    let most = 0;
    let locked = false;
    for (const k of this.keys(address, user)) {
      const tally = this.tallies.get(k) ?? { failures: [], lockedUntil: 0 };
      tally.failures = tally.failures.filter((at) => t - at < this.settings.windowSeconds * 1000);
      tally.failures.push(t);
      if (tally.failures.length >= this.settings.maxFailures && tally.lockedUntil <= t) {
        tally.lockedUntil = t + this.settings.lockoutSeconds * 1000;
        locked = true;
      }
      this.tallies.set(k, tally);
      most = Math.max(most, tally.failures.length);
    }
    this.prune(t);
    return { delayMs: Math.min(5_000, this.settings.firstDelayMs * 2 ** (most - 1)), locked };
  }

  /** A right password outside any lock-out clears the address's and the user's failures. */
  succeeded(address: string, user: string): void {
    for (const k of this.keys(address, user)) this.tallies.delete(k);
  }

  private keys(address: string, user: string): string[] {
    return user ? [`a:${address}`, `u:${user.toLowerCase()}`] : [`a:${address}`];
  }

  /** Forget tallies that neither lock nor count any more (the map cannot grow without bound). */
  private prune(t: number): void {
    if (this.tallies.size < 10_000) return;
    for (const [k, tally] of this.tallies) {
      if (tally.lockedUntil <= t && tally.failures.every((at) => t - at >= this.settings.windowSeconds * 1000)) this.tallies.delete(k);
    }
  }
}
