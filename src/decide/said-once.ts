// Findings as a person reads them: one line per rule, place and sentence. The detectors report
// each word they matched ("Mentions a health or medical condition…" for asthma, then again for
// inhaler); a reader needs the sentence once, with what was found joined ("asthma, inhaler").
// Used by the notices, the command line and the console, so all three say the same.

interface Sayable { rule?: string; where: string; reason: string; evidence: string | null }

export function saidOnce<T extends Sayable>(findings: T[]): T[] {
  const lines = new Map<string, T>();
  for (const f of findings) {
    const key = `${f.rule ?? ''}\u0000${f.where}\u0000${f.reason}`;
    const seen = lines.get(key);
    if (!seen) lines.set(key, { ...f });
    else if (f.evidence && !(seen.evidence ?? '').split(', ').includes(f.evidence)) seen.evidence = seen.evidence ? `${seen.evidence}, ${f.evidence}` : f.evidence;
  }
  return [...lines.values()];
}
