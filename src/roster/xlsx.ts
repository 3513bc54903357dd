// Rosters as the MIS exports them to Excel (.xlsx): the first worksheet's rows, each cell in the
// column its reference names (an empty cell keeps its place), shared strings resolved and dates
// shown as dd/mm/yyyy, as the CSV reader would have seen them. The workbook is read with the
// attachment reader's bounded zip and XML code (src/inspect: sizes, ratios and a byte budget), so
// a damaged or hostile file is refused with a sentence, never a crash.
import { openZip, listZip, ZipLimitError, type ZipEntryInfo } from '../inspect/zip.ts';
import { cellText, parseXmlEntry, pick, workbookParts, type LayerBudget } from '../inspect/office-xml.ts';
import type { CsvRecord } from './csv.ts';
import { RosterError } from './types.ts';

/** A roster is trusted input, but a 200,000-pupil export is well under these. */
const BUDGET: LayerBudget = {
  bytesLeft: 512 * 1024 * 1024,
  partsLeft: 10_000,
  maxEntryBytes: 256 * 1024 * 1024,
  maxRatio: 250,
  maxTextChars: 256 * 1024 * 1024,
  depthLeft: 0,
};
const MAX_COLUMNS = 1000;

/** Column index of a cell reference ("C12" → 2), or undefined when it has none. */
function columnOf(ref: string | undefined): number | undefined {
  if (!ref) return undefined;
  let col = 0;
  let i = 0;
  for (; i < ref.length && i < 4; i++) {
    const c = ref.charCodeAt(i);
    if (c >= 65 && c <= 90) col = col * 26 + (c - 64);
    else if (c >= 97 && c <= 122) col = col * 26 + (c - 96);
    else break;
  }
  return i === 0 ? undefined : col - 1;
}

export async function xlsxRecords(bytes: Buffer): Promise<{ records: CsvRecord[]; sheet: string }> {
  const budget = { ...BUDGET };
  let zip;
  let list: ZipEntryInfo[];
  try {
    zip = await openZip(bytes);
    list = await listZip(zip, 10_000);
  } catch {
    throw new RosterError('The roster workbook (xlsx) is damaged and cannot be opened: save it again from Excel, or export the roster as CSV.');
  }
  try {
    const entries = new Map(list.map((e) => [e.name, e]));
    const sheetEntry = entries.get('xl/worksheets/sheet1.xml') ?? pick(entries, 'xl/worksheets/sheet')[0];
    if (!sheetEntry) throw new RosterError('The roster workbook (xlsx) has no worksheet: save it again from Excel, or export the roster as CSV.');
    const parts = await workbookParts(zip, entries, budget);
    if (parts.problems.length) throw parts.problems[0];
    const records: CsvRecord[] = [];
    let row: string[] = [];
    let rowNumber = 0;
    let nextColumn = 0;
    let cellType = '';
    let cellStyle = 0;
    let cellColumn = 0;
    let inV = false;
    let inIs = 0;
    let inT = false;
    let value: string[] = [];
    await parseXmlEntry(zip, sheetEntry, budget, {
      open(name, attrs) {
        const n = name.slice(name.indexOf(':') + 1);
        if (n === 'row') {
          row = [];
          nextColumn = 0;
          rowNumber = Number(attrs.r) > 0 ? Number(attrs.r) : rowNumber + 1;
        } else if (n === 'c') {
          cellType = attrs.t ?? 'n';
          cellStyle = Number(attrs.s ?? 0);
          cellColumn = columnOf(attrs.r) ?? nextColumn;
          value = [];
        } else if (n === 'v') inV = true;
        else if (n === 'is') inIs++;
        else if (n === 't' && inIs) inT = true;
      },
      close(name) {
        const n = name.slice(name.indexOf(':') + 1);
        if (n === 'v') inV = false;
        else if (n === 'is') inIs = Math.max(0, inIs - 1);
        else if (n === 't') inT = false;
        else if (n === 'c') {
          const shown = cellText(parts, cellType, cellStyle, value.join(''));
          if (cellColumn < MAX_COLUMNS) {
            while (row.length < cellColumn) row.push('');
            row[cellColumn] = shown;
          }
          nextColumn = cellColumn + 1;
        } else if (n === 'row') {
          if (row.some((f) => f.trim() !== '')) records.push({ line: rowNumber, fields: row });
        }
      },
      text(t) {
        if (inV || inT) value.push(t);
      },
    });
    // A workbook stores no trailing empty cells: a row ends where its last value is, so each row
    // is made as wide as the header again (what a CSV export writes as trailing commas).
    const width = records[0]?.fields.length ?? 0;
    for (const r of records) while (r.fields.length < width) r.fields.push('');
    return { records, sheet: parts.sheetNames[0] ?? 'Sheet1' };
  } catch (err) {
    if (err instanceof RosterError) throw err;
    const why = err instanceof ZipLimitError && err.problem !== 'damaged' ? 'is larger than a roster can be' : 'is damaged';
    throw new RosterError(`The roster workbook (xlsx) ${why} and cannot be read: save it again from Excel, or export the roster as CSV.`);
  } finally {
    zip.close();
  }
}
