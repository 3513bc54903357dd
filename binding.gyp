# The name matcher's word pass in C (src/roster/native/word-pass.c), built by `npm install`
# with node-gyp against the Node headers in npm_config_nodedir, like re2 and better-sqlite3.
{
  "targets": [
    {
      "target_name": "word_pass",
      "sources": ["src/roster/native/word-pass.c"],
      "defines": ["NAPI_VERSION=8"],
      "cflags": ["-O3", "-std=c11", "-Wall", "-Wextra"],
      "xcode_settings": { "OTHER_CFLAGS": ["-O3", "-std=c11"] }
    }
  ]
}
