// Real photographs and pictures for the gate's precision (issue 20): public pictures shipped in
// Debian's packages (MATE's and UKUI's desktop backgrounds: photographs of nature, animals and
// cities; scikit-image's sample data: an astronaut, a cat, coffee, coins, a rocket, grass, gravel,
// cells, the Hubble deep field). Fetched with `apt-get download` and unpacked with `dpkg-deb -x`
// into a cache under the system's temporary folder: nothing is installed and nothing committed.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { listFiles } from '../../test/corpus/debian.ts';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ImageFormat } from '../../src/inspect/ocr-image.ts';

const PACKAGES = ['mate-backgrounds', 'ukui-wallpapers', 'lomiri-wallpapers', 'python3-skimage'];
/** scikit-image's pictures of text (too small for a page; reported apart) and its test data. */
const NOT_PHOTOS = /\/(page|text|bw_text)\.png$|\/registration\/|\/tests\//;

export interface RealPicture {
  name: string;
  format: ImageFormat;
  bytes: Buffer;
}

/** The pictures (20 KB or more), or undefined with the reason when the packages cannot be fetched. */
export function realPictures(): { pictures: RealPicture[]; textPictures: RealPicture[] } | { missing: string } {
  const cache = path.join(tmpdir(), 'hallmonitor-bench-pictures');
  const root = path.join(cache, 'root');
  if (!existsSync(path.join(cache, 'done'))) {
    mkdirSync(root, { recursive: true });
    try {
      execFileSync('apt-get', ['download', ...PACKAGES], { cwd: cache, stdio: 'ignore' });
      for (const deb of readdirSync(cache).filter((f) => f.endsWith('.deb'))) execFileSync('dpkg-deb', ['-x', path.join(cache, deb), root]);
      execFileSync('touch', [path.join(cache, 'done')]);
    } catch (err) {
      return { missing: `apt-get download ${PACKAGES.join(' ')} failed (${(err as Error).message.split('\n')[0]})` };
    }
  }
  const all = listFiles(root).filter((f) => /\.(jpe?g|png)$/i.test(f) && statSync(f).size >= 20_000);
  const toPicture = (f: string): RealPicture => ({ name: f.slice(root.length), format: /\.png$/i.test(f) ? 'png' : 'jpg', bytes: readFileSync(f) });
  return {
    pictures: all.filter((f) => !NOT_PHOTOS.test(f)).map(toPicture),
    textPictures: listFiles(root).filter((f) => /\/(page|text)\.png$/.test(f)).map(toPicture),
  };
}
