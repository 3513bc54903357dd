// Findings as people without access to the message may see them (auditors, the register CSV):
// attachment file names are masked like evidence ("A***** T******** t*** l***.csv"), in the place
// and in the reason that quotes them, because a file is often named after the pupil.
import { attachmentSegments, maskFileName } from '../../act/notify/compose.ts';
import type { Finding } from '../../types.ts';

function fileNames(findings: Finding[]): Array<[string, string]> {
  const names = new Map<string, string>();
  for (const f of findings) {
    const w = f.where.startsWith('filename:') ? f.where.slice('filename:'.length) : f.where;
    if (!w.startsWith('attachment:')) continue;
    for (const seg of attachmentSegments(w.slice('attachment:'.length))) if (seg.file && seg.name.length >= 3) names.set(seg.name, maskFileName(seg.name).slice(1, -1));
  }
  // Longest first, so "a.zip/b.csv" parts don't mask each other halfway.
  return [...names].sort((a, b) => b[0].length - a[0].length);
}

function replaceNames(s: string, names: Array<[string, string]>): string {
  let out = s;
  for (const [raw, masked] of names) out = out.split(raw).join(masked);
  return out;
}

export function maskFindings(findings: Finding[]): Finding[] {
  const names = fileNames(findings);
  if (!names.length) return findings;
  return findings.map((f) => ({ ...f, where: replaceNames(f.where, names), reason: replaceNames(f.reason, names), evidence: replaceNames(f.evidence, names) }));
}
