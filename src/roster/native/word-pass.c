// The word pass of the name matcher, in C: the same loop as wordPassJs in ../word-pass.ts, byte
// for byte (test/word-pass.test.ts runs both over the same texts and compares every output).
//
// One pass over a message's UTF-8 bytes: each word is folded (ASCII case, Latin diacritics,
// apostrophes; the fold table comes from ../fold.ts) and hashed with FNV-1a, then looked up in
// the roster's word table. Out come three flat lists, written into Int32Arrays owned by the
// caller: name-sequence words (start, end, hash, word id, run flag), keyword words (word id,
// start, end) and words holding digits (start, end, digit info: digits, +256 postcode-like end,
// +512 an apostrophe or non-ASCII character inside). When a list is full the pass
// stops at the start of a word and records where it was in `state`; the caller grows the list
// and calls again. No regular expression, no allocation, no state outside the arguments, so
// worker threads can share the module.

#ifndef WORD_PASS_STANDALONE
#include <node_api.h>
#endif
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define SEP 0u
#define SKIP 0xfffeu
#define APOS 0xfffdu
#define RAW 0xffffu

#define F_SEQ 32u
#define F_KEYWORD 16u
#define F_TITLE 128u

#define FNV_OFFSET 0x811c9dc5u
#define FNV_PRIME 16777619u

// state[]: where the pass is, so it can resume after a list was grown.
enum { S_POS, S_PREV_WAS_NAME, S_PREV_END, S_TITLE_END, S_TOKENS, S_KEYWORDS, S_DIGITS, S_LENGTH };

typedef struct {
  const uint16_t *fold;   // 65536 entries: fold value per BMP code point
  const uint8_t *fold8;   // 256 entries: per byte, 0 separator, 255 look closer, else folded ASCII
  const int32_t *keys;    // word table: slot -> word hash (0 = empty)
  const int32_t *ids;     // slot -> word id
  const uint8_t *flags;   // word id -> F_* flags
  size_t flags_len;
  uint32_t mask;
} WordTable;

typedef struct {
  const uint16_t *fold;
  const uint8_t *b;
  size_t n;
} Text;

static inline uint32_t decode_at(const uint8_t *b, size_t i, size_t n, size_t *len) {
  uint32_t c = b[i];
  if (c >= 0xc2 && c <= 0xdf && i + 1 < n && (b[i + 1] & 0xc0) == 0x80) {
    *len = 2;
    return ((c & 0x1f) << 6) | (b[i + 1] & 0x3f);
  }
  if (c >= 0xe0 && c <= 0xef && i + 2 < n && (b[i + 1] & 0xc0) == 0x80 && (b[i + 2] & 0xc0) == 0x80) {
    uint32_t cp = ((c & 0x0f) << 12) | ((uint32_t)(b[i + 1] & 0x3f) << 6) | (b[i + 2] & 0x3f);
    if (cp >= 0x800) {
      *len = 3;
      return cp;
    }
  }
  if (c >= 0xf0 && c <= 0xf4 && i + 3 < n && (b[i + 1] & 0xc0) == 0x80 && (b[i + 2] & 0xc0) == 0x80 && (b[i + 3] & 0xc0) == 0x80) {
    *len = 4;
    return ((c & 0x07) << 18) | ((uint32_t)(b[i + 1] & 0x3f) << 12) | ((uint32_t)(b[i + 2] & 0x3f) << 6) | (b[i + 3] & 0x3f);
  }
  *len = 1;
  return c; // not UTF-8: read as Latin-1
}

static inline uint32_t fold_at(const Text *t, size_t i, size_t *len) {
  uint32_t c = t->b[i];
  if (c < 0x80) {
    *len = 1;
    return t->fold[c];
  }
  uint32_t cp = decode_at(t->b, i, t->n, len);
  return cp < 0x10000 ? t->fold[cp] : RAW;
}

// After an apostrophe at i: the bytes to skip when the word goes on (O'Brien), 0 when it ends
// (Hill's, Jones').
static size_t apostrophe_joins(const Text *t, size_t i) {
  size_t apos_len, len;
  fold_at(t, i, &apos_len);
  size_t j = i + apos_len;
  if (j >= t->n) return 0;
  uint32_t v = fold_at(t, j, &len);
  if (v == SEP || v == APOS || v == SKIP) return 0;
  if (v == 115 /* s */) {
    size_t k = j + len;
    if (k >= t->n) return 0;
    uint32_t after = fold_at(t, k, &len);
    if (after == SEP || after == APOS) return 0;
  }
  return apos_len;
}

// A non-ASCII byte or an apostrophe inside a word: bytes it takes (0 = the word ends), and the
// values to hash.
static inline size_t fold_in_word(const Text *t, size_t i, uint32_t *a, uint32_t *b, int *count) {
  size_t len;
  uint32_t x = fold_at(t, i, &len);
  *count = 0;
  if (x == SEP) return 0;
  if (x == APOS) return apostrophe_joins(t, i);
  if (x == SKIP) {
    // Between a small letter and a capital it ends the word as a space would (word-pass.ts).
    uint8_t before = t->b[i - 1];
    size_t j = i + len;
    uint8_t after = j < t->n ? t->b[j] : 0;
    int small = (before >= 97 && before <= 122) || (before >= 0x80 && before <= 0xbf);
    int capital = (after >= 65 && after <= 90) || (after == 0xc3 && j + 1 < t->n && t->b[j + 1] >= 0x80 && t->b[j + 1] <= 0x9e && t->b[j + 1] != 0x97);
    if (small && capital) return 0;
    return len;
  }
  if (x == RAW) {
    size_t l2;
    uint32_t cp = decode_at(t->b, i, t->n, &l2);
    *a = cp & 0xff;
    *b = (cp >> 8) | 0x100;
    *count = 2;
    return len;
  }
  *a = x & 0xff;
  *b = x >> 8;
  *count = *b == 0 ? 1 : 2;
  return len;
}

static inline int is_digit(uint8_t c) { return c >= 48 && c <= 57; }

// A letter that can end a postcode ([ABD-HJLNP-UW-Z], either case).
static inline int is_inward_letter(uint8_t c) {
  uint32_t u = c >= 97 && c <= 122 ? c - 32u : c;
  return u >= 65 && u <= 90 && u != 67 && u != 73 && u != 75 && u != 77 && u != 79 && u != 86;
}

// Returns 0 when the text is done, 1 when it stopped because a list is full.
static int word_pass(const WordTable *w, const Text *t, int32_t *tok, size_t tok_cap, int32_t *kw, size_t kw_cap, int32_t *dig,
                     size_t dig_cap, int32_t *state) {
  const uint8_t *b = t->b;
  const uint8_t *f8 = w->fold8;
  const size_t n = t->n;
  size_t i = (size_t)state[S_POS];
  int prev_was_name = state[S_PREV_WAS_NAME];
  int64_t prev_end = state[S_PREV_END];
  int64_t title_end = state[S_TITLE_END];
  size_t n_tok = (size_t)state[S_TOKENS], n_kw = (size_t)state[S_KEYWORDS], n_dig = (size_t)state[S_DIGITS];
  int full = 0;

  while (i < n) {
    uint32_t v = f8[b[i]];
    if (v == 0) {
      i++;
      continue;
    }
    if (v == 255) {
      size_t len;
      uint32_t x = fold_at(t, i, &len);
      if (x == SEP || x == APOS || x == SKIP) {
        i += len;
        continue;
      }
    }
    // A word starts at i. Room for whatever it turns out to be, or stop here.
    if (n_tok >= tok_cap || n_kw >= kw_cap || n_dig >= dig_cap) {
      full = 1;
      break;
    }
    const size_t start = i;
    uint32_t h = FNV_OFFSET;
    uint32_t digit = 0;
    uint32_t irregular = 0;
    for (;;) {
      while (v != 0 && v != 255) {
        h = (h ^ v) * FNV_PRIME;
        if (v < 58) digit++;
        if (++i >= n) {
          v = 0;
          break;
        }
        v = f8[b[i]];
      }
      if (v == 0) break;
      uint32_t fa = 0, fb = 0;
      int count;
      size_t skip = fold_in_word(t, i, &fa, &fb, &count);
      if (skip == 0) break;
      irregular = 512;
      if (count != 0) {
        h = (h ^ fa) * FNV_PRIME;
        if (count == 2) h = (h ^ fb) * FNV_PRIME;
      }
      i += skip;
      if (i >= n) break;
      v = f8[b[i]];
    }

    if (digit != 0) {
      int post = i - start >= 3 && is_digit(b[i - 3]) && is_inward_letter(b[i - 2]) && is_inward_letter(b[i - 1]) ? 256 : 0;
      int32_t *d = dig + 3 * n_dig++;
      d[0] = (int32_t)start;
      d[1] = (int32_t)i;
      d[2] = (int32_t)((digit > 255 ? 255 : digit) | (uint32_t)post | irregular);
      prev_was_name = 0;
      continue;
    }

    if (h == 0) h = 1;
    uint32_t slot = (h ^ (h >> 16)) & w->mask;
    int32_t id = -1;
    for (;;) {
      uint32_t k = (uint32_t)w->keys[slot];
      if (k == h) {
        id = w->ids[slot];
        break;
      }
      if (k == 0) break;
      slot = (slot + 1) & w->mask;
    }
    if (id < 0 || (size_t)id >= w->flags_len) {
      prev_was_name = 0;
      continue;
    }
    const uint32_t f = w->flags[id];
    if (f & F_KEYWORD) {
      int32_t *k = kw + 3 * n_kw++;
      k[0] = id;
      k[1] = (int32_t)start;
      k[2] = (int32_t)i;
    }
    if (f & F_SEQ) {
      const int new_run = prev_was_name == 0 || (int64_t)start - prev_end > 32;
      int32_t *e = tok + 5 * n_tok++;
      e[0] = (int32_t)start;
      e[1] = (int32_t)i;
      e[2] = (int32_t)h;
      e[3] = id;
      e[4] = new_run ? ((int64_t)start - title_end <= 3 ? 3 : 1) : 0;
      prev_was_name = 1;
      prev_end = (int64_t)i;
    } else {
      prev_was_name = 0;
      if (f & F_TITLE) title_end = (int64_t)i;
    }
  }

  state[S_POS] = (int32_t)i;
  state[S_PREV_WAS_NAME] = prev_was_name;
  // Distances beyond these limits never matter (a run breaks after 32 bytes, a title after 3).
  state[S_PREV_END] = prev_end < -1000000000 ? -1000000000 : (int32_t)prev_end;
  state[S_TITLE_END] = title_end < -1000000000 ? -1000000000 : (int32_t)title_end;
  state[S_TOKENS] = (int32_t)n_tok;
  state[S_KEYWORDS] = (int32_t)n_kw;
  state[S_DIGITS] = (int32_t)n_dig;
  return full;
}

// --- N-API glue -----------------------------------------------------------------------------
// (Left out when test/native/word-pass-stress.c includes this file to run the pass under
// AddressSanitizer.)
#ifndef WORD_PASS_STANDALONE

#define CHECK(call)                                                     \
  do {                                                                  \
    if ((call) != napi_ok) {                                            \
      napi_throw_error(env, NULL, "word-pass: bad arguments (" #call ")"); \
      return NULL;                                                      \
    }                                                                   \
  } while (0)

static int typed(napi_env env, napi_value v, napi_typedarray_type want, void **data, size_t *length) {
  napi_typedarray_type type;
  napi_value ab;
  size_t offset;
  bool is;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is) return 0;
  if (napi_get_typedarray_info(env, v, &type, length, data, &ab, &offset) != napi_ok) return 0;
  return type == want;
}

static void free_table(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  WordTable *w = (WordTable *)data;
  free((void *)w->fold);
  free((void *)w->fold8);
  free((void *)w->keys);
  free((void *)w->ids);
  free((void *)w->flags);
  free(w);
}

// Marks handles made by table(), so pass() refuses any other external value.
static const napi_type_tag TABLE_TAG = {0x8f3c1e2a5b7d4c61ULL, 0x2e9a7f0c4d1b3a58ULL};

static void *copy_of(const void *data, size_t bytes) {
  void *p = malloc(bytes ? bytes : 1);
  if (p && bytes) memcpy(p, data, bytes);
  return p;
}

// table(fold: Uint16Array(65536), fold8: Uint8Array(256), keys: Int32Array, ids: Int32Array,
//       flags: Uint8Array) -> an opaque handle holding its own copy of the arrays (so nothing
//       the JavaScript side later does to them, such as transferring their buffers, reaches here).
static napi_value make_table(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 5) {
    napi_throw_type_error(env, NULL, "word-pass: table(fold, fold8, keys, ids, flags)");
    return NULL;
  }
  const uint16_t *fold;
  const uint8_t *fold8, *flags;
  const int32_t *keys, *ids;
  size_t fold_len, fold8_len, keys_len, ids_len, flags_len;
  int ok = typed(env, argv[0], napi_uint16_array, (void **)&fold, &fold_len) && fold_len == 0x10000 &&
           typed(env, argv[1], napi_uint8_array, (void **)&fold8, &fold8_len) && fold8_len == 256 &&
           typed(env, argv[2], napi_int32_array, (void **)&keys, &keys_len) && keys_len > 0 && keys_len <= (1u << 30) &&
           (keys_len & (keys_len - 1)) == 0 && typed(env, argv[3], napi_int32_array, (void **)&ids, &ids_len) && ids_len == keys_len &&
           typed(env, argv[4], napi_uint8_array, (void **)&flags, &flags_len);
  if (ok) {
    // Every id in the table must index the flags, and one slot at least must be empty (a
    // lookup stops at an empty slot: a full table would never stop).
    int empty = 0;
    for (size_t s = 0; s < keys_len && ok; s++) {
      if (keys[s] == 0) empty = 1;
      else if (ids[s] < 0 || (size_t)ids[s] >= flags_len) ok = 0;
    }
    if (!empty) ok = 0;
  }
  if (!ok) {
    napi_throw_type_error(env, NULL, "word-pass: table arrays have the wrong types or sizes");
    return NULL;
  }
  WordTable *w = (WordTable *)calloc(1, sizeof(WordTable));
  if (w) {
    w->fold = copy_of(fold, fold_len * 2);
    w->fold8 = copy_of(fold8, fold8_len);
    w->keys = copy_of(keys, keys_len * 4);
    w->ids = copy_of(ids, ids_len * 4);
    w->flags = copy_of(flags, flags_len);
    w->flags_len = flags_len;
    w->mask = (uint32_t)(keys_len - 1);
  }
  if (!w || !w->fold || !w->fold8 || !w->keys || !w->ids || !w->flags) {
    if (w) free_table(env, w, NULL);
    napi_throw_error(env, NULL, "word-pass: out of memory");
    return NULL;
  }
  napi_value handle;
  if (napi_create_external(env, w, free_table, NULL, &handle) != napi_ok) {
    free_table(env, w, NULL);
    napi_throw_error(env, NULL, "word-pass: cannot make the table handle");
    return NULL;
  }
  if (napi_type_tag_object(env, handle, &TABLE_TAG) != napi_ok) {
    napi_throw_error(env, NULL, "word-pass: cannot tag the table handle");
    return NULL;
  }
  return handle;
}

// pass(table, text: Uint8Array, tokens: Int32Array, keywords: Int32Array, digits: Int32Array,
//      state: Int32Array(7)) -> 0 done, 1 a list is full (grow it, call again).
static napi_value pass(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  WordTable *w = NULL;
  napi_valuetype vt;
  bool ours = false;
  if (argc != 6 || napi_typeof(env, argv[0], &vt) != napi_ok || vt != napi_external ||
      napi_check_object_type_tag(env, argv[0], &TABLE_TAG, &ours) != napi_ok || !ours ||
      napi_get_value_external(env, argv[0], (void **)&w) != napi_ok || !w) {
    napi_throw_type_error(env, NULL, "word-pass: pass(table, text, tokens, keywords, digits, state)");
    return NULL;
  }
  Text t;
  t.fold = w->fold;
  void *tok, *kw, *dig, *state;
  size_t tok_len, kw_len, dig_len, state_len;
  if (!typed(env, argv[1], napi_uint8_array, (void **)&t.b, &t.n) || !typed(env, argv[2], napi_int32_array, &tok, &tok_len) ||
      !typed(env, argv[3], napi_int32_array, &kw, &kw_len) || !typed(env, argv[4], napi_int32_array, &dig, &dig_len) ||
      !typed(env, argv[5], napi_int32_array, &state, &state_len) || state_len < S_LENGTH || t.n > 0x7fffffff) {
    napi_throw_type_error(env, NULL, "word-pass: pass(table, text, tokens, keywords, digits, state) with typed arrays");
    return NULL;
  }
  int32_t *st = (int32_t *)state;
  if (st[S_POS] < 0 || st[S_TOKENS] < 0 || st[S_KEYWORDS] < 0 || st[S_DIGITS] < 0 || (size_t)st[S_TOKENS] > tok_len / 5 ||
      (size_t)st[S_KEYWORDS] > kw_len / 3 || (size_t)st[S_DIGITS] > dig_len / 3) {
    napi_throw_range_error(env, NULL, "word-pass: state does not fit the lists");
    return NULL;
  }
  int full = word_pass(w, &t, (int32_t *)tok, tok_len / 5, (int32_t *)kw, kw_len / 3, (int32_t *)dig, dig_len / 3, st);
  napi_value result;
  CHECK(napi_create_int32(env, full, &result));
  return result;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  if (napi_create_function(env, "table", NAPI_AUTO_LENGTH, make_table, NULL, &fn) != napi_ok ||
      napi_set_named_property(env, exports, "table", fn) != napi_ok)
    return NULL;
  if (napi_create_function(env, "pass", NAPI_AUTO_LENGTH, pass, NULL, &fn) != napi_ok ||
      napi_set_named_property(env, exports, "pass", fn) != napi_ok)
    return NULL;
  return exports;
}
#endif
