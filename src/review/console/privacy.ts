// Findings as people without access to the message may see them (auditors, the register CSV):
// attachment file names are masked like evidence ("A***** T******** t*** l***.csv"), in the place
// and in the reason that quotes them, because a file is often named after the pupil.
import { attachmentSegments, maskFileName } from '../../act/notify/compose.ts';
import type { Finding } from '../../types.ts';

/** File names in the findings' places, each with its mask: every one, or (given `personalIn`) those with personal data in them and those a finding was about. */
function fileNames(findings: Finding[], personalIn?: (name: string) => boolean): Array<[string, string]> {
  const names = new Map<string, string>();
  for (const f of findings) {
    const about = f.where.startsWith('filename:');
    const w = about ? f.where.slice('filename:'.length) : f.where;
    if (!w.startsWith('attachment:')) continue;
    for (const seg of attachmentSegments(w.slice('attachment:'.length))) {
      if (!seg.file || seg.name.length < 3) continue;
      if (!personalIn || about || personalIn(seg.name)) names.set(seg.name, maskFileName(seg.name).slice(1, -1));
    }
  }
  // Longest first, so "a.zip/b.csv" parts don't mask each other halfway.
  return [...names].sort((a, b) => b[0].length - a[0].length);
}

function replaceNames(s: string, names: Array<[string, string]>): string {
  let out = s;
  for (const [raw, masked] of names) out = out.split(raw).join(masked);
  return out;
}

/**
 * Findings with attachment file names masked in the place, the reason and the evidence. Every name
 * by default (people without access to the message); given the school's detectors (`personalIn`:
 * does redacting the name change it?), only names with personal data in them, and any a finding
 * was about (`filename:…`), as notices show them.
 */
export function maskFindings(findings: Finding[], personalIn?: (name: string) => boolean): Finding[] {
  const names = fileNames(findings, personalIn);
  if (!names.length) return findings;
  return findings.map((f) => ({ ...f, where: replaceNames(f.where, names), reason: replaceNames(f.reason, names), evidence: replaceNames(f.evidence, names) }));
}
