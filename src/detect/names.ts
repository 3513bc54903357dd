// Phase 1 of a scan: pupils' names. The word pass and the name matcher (src/roster) find full
// names and single name words; here they become findings, with the roster ids they name and a
// reason shared per name form, and every name is an anchor for the special-category vocabulary.
import { type NameIndex, type NameSource, F_FORENAME, F_SURNAME, F_ORDINARY, V_SURNAME_FIRST, V_PREFERRED } from '../roster/name-index.ts';
import { HIT_STAFF, HIT_STRONG, HIT_WEAK_NAME, HIT_WEAK_WORD, type NameHit } from '../roster/name-matcher.ts';
import type { Pupil } from '../roster/types.ts';
import { Finding } from './finding.ts';
import type { Detection } from './types.ts';

export function pupilNameSource(p: Pupil): NameSource {
  const forenames = [p.legalForename, p.preferredForename].filter((x): x is string => !!x);
  const surnames = [p.legalSurname, p.preferredSurname].filter((x): x is string => !!x);
  return {
    forenames,
    surnames,
    middleNames: p.middleNames ? [p.middleNames] : undefined,
    preferred: {
      forenames: p.preferredForename && p.preferredForename !== p.legalForename ? [p.preferredForename] : [],
      surnames: p.preferredSurname && p.preferredSurname !== p.legalSurname ? [p.preferredSurname] : [],
    },
  };
}

/**
 * A text scanned a stretch at a time (src/detect/stretches.ts): the single name words seen so far
 * in the whole text, and which part of this stretch is its own (the rest is read for context).
 * Offsets in `mentions` are the whole text's.
 */
export interface NameStretch {
  firstOfWord: Map<number, Detection>;
  /** This stretch's own part, in its offsets. */
  ownFrom: number;
  ownTo: number;
  /** Where this stretch starts in the whole text. */
  base: number;
  /**
   * The stretch is read again (stretches.ts): its names were found the first time and are kept;
   * now they are only anchors.
   */
  anchorsOnly: boolean;
}

export function nameDetections(
  hits: NameHit[],
  buf: Buffer,
  ix: NameIndex,
  pupils: Pupil[],
  where: string,
  out: Detection[],
  anchors: Detection[],
  cache: NameCache,
  staffNames = false,
  stretch?: NameStretch,
): void {
  // A single forename or surname is a weak hint: reported once per text with how often it occurs.
  // Every occurrence is kept in `mentions` and is an anchor for special-category terms: the policy
  // decides which of them refer to a pupil named in full earlier in the text (src/decide/model.ts).
  let firstOfWord: Map<number, Detection> | undefined = stretch?.firstOfWord;
  const base = stretch ? stretch.base : 0;
  const anchorsOnly = stretch?.anchorsOnly === true;
  for (let k = 0; k < hits.length; k++) {
    const h = hits[k];
    if (h.kind === HIT_STAFF) {
      if (staffNames && !anchorsOnly) out.push(Finding.forName(where, buf, h.start, h.end, "A member of staff's name", 'strong', 0.5, 'staff-name'));
      continue;
    }
    // In a stretch, an occurrence outside its own part is counted by the stretch it belongs to;
    // here it is only an anchor.
    const own = !stretch || (!anchorsOnly && h.start >= stretch.ownFrom && h.start < stretch.ownTo);
    if (h.kind === HIT_WEAK_WORD) {
      firstOfWord ??= new Map();
      const first = firstOfWord.get(h.ref);
      if (first) {
        if (own) {
          first.occurrences = (first.occurrences ?? 1) + 1;
          first.mentions!.push(base + h.start, base + h.end);
        }
        anchors.push(mentionAnchor(first, h.start, h.end));
        continue;
      }
    }
    const d = nameDetection(h, buf, ix, pupils, where, cache);
    if (!d) continue;
    anchors.push(d);
    if (!own) continue;
    if (h.kind === HIT_WEAK_WORD) {
      firstOfWord!.set(h.ref, d);
      d.mentions = [base + h.start, base + h.end];
    }
    out.push(d);
  }
}

/** A later occurrence of a single name word, as an anchor only (it is counted on its first finding). */
function mentionAnchor(first: Detection, start: number, end: number): Detection {
  return { detector: first.detector, where: first.where, start, end, evidence: '', reason: '', strength: 'weak', score: first.score, category: 'name' };
}

/** Per compiled set: explanation and pupil ids of each name variant / word, built on first use. */
export interface NameCache {
  variantReason: Array<string | undefined>;
  variantIds: Array<readonly string[] | undefined>;
  wordReason: Array<string | undefined>;
  wordIds: Array<readonly string[] | null | undefined>;
}

function variantIds(cache: NameCache, ix: NameIndex, pupils: Pupil[], v: number): readonly string[] {
  let ids = cache.variantIds[v];
  if (!ids) {
    ids = Object.freeze(ix.variantPupils[v].map((p) => pupils[p].id));
    cache.variantIds[v] = ids;
  }
  return ids;
}

function variantReason(cache: NameCache, ix: NameIndex, ids: readonly string[], v: number, kind: number, note?: string): string {
  const slot = kind === HIT_STRONG ? v * 3 : note === 'also-staff' ? v * 3 + 1 : v * 3 + 2;
  let reason = cache.variantReason[slot];
  if (!reason) {
    const vf = ix.variantFlags[v];
    const which = vf & V_PREFERRED ? 'preferred name' : 'name';
    const count = ids.length === 1 ? 'a pupil' : `${ids.length} pupils`;
    reason =
      kind === HIT_STRONG
        ? `The full ${which} of ${count} on the school roster (${vf & V_SURNAME_FIRST ? 'surname first' : 'forename and surname'})`
        : note === 'also-staff'
          ? `The full ${which} of ${count} on the roster, which is also a member of staff's name`
          : `The full ${which} of ${count} on the roster, written in lower case and made of ordinary words`;
    cache.variantReason[slot] = reason;
  }
  return reason;
}

function nameDetection(h: NameHit, buf: Buffer, ix: NameIndex, pupils: Pupil[], where: string, cache: NameCache): Detection | undefined {
  if (h.kind === HIT_STRONG || h.kind === HIT_WEAK_NAME) {
    const vf = ix.variantFlags[h.ref];
    const ids = variantIds(cache, ix, pupils, h.ref);
    const reason = variantReason(cache, ix, ids, h.ref, h.kind, h.note);
    const form = vf & V_SURNAME_FIRST ? 'surname-forename' : 'forename-surname';
    if (h.kind === HIT_STRONG) {
      const d = Finding.forName(where, buf, h.start, h.end, reason, 'strong', 0.9);
      d.pupilIds = ids as string[];
      d.nameForm = form;
      return d;
    }
    const d = Finding.forName(where, buf, h.start, h.end, reason, 'weak', h.note === 'also-staff' ? 0.5 : 0.4);
    d.pupilIds = ids as string[];
    d.nameForm = form;
    return d;
  }
  if (h.kind === HIT_WEAK_WORD) {
    const f = ix.wordFlags[h.ref];
    const asForename = (f & F_FORENAME) !== 0;
    let reason = cache.wordReason[h.ref];
    let ids = cache.wordIds[h.ref];
    if (reason === undefined) {
      const count = ix.wordPupilCount[h.ref];
      const part = asForename && f & F_SURNAME ? 'forename or surname' : asForename ? 'forename' : 'surname';
      reason = `The ${part} of ${count === 1 ? 'a pupil' : `${count} pupils`} on the roster, alone (not a full name)`;
      const list = ix.wordPupils[h.ref];
      ids = list && count <= list.length ? Object.freeze(list.map((p) => pupils[p].id)) : null;
      cache.wordReason[h.ref] = reason;
      cache.wordIds[h.ref] = ids;
    }
    const d = Finding.forName(where, buf, h.start, h.end, reason, 'weak', f & F_ORDINARY ? 0.1 : 0.25);
    d.nameForm = asForename ? 'forename' : 'surname';
    if (ids) d.pupilIds = ids as string[];
    return d;
  }
  return undefined;
}

/** A fresh cache for one compiled set. */
export function newNameCache(): NameCache {
  return { variantReason: [], variantIds: [], wordReason: [], wordIds: [] };
}
