// The C word pass under AddressSanitizer and UndefinedBehaviorSanitizer (test/word-pass.test.ts
// compiles and runs this with gcc). Message text is hostile: every text here is a random mix of
// name fragments, multi-byte and broken UTF-8, apostrophes and arbitrary bytes, allocated to its
// exact length so a read one byte past the end is caught. Each text is scanned twice: once with
// roomy lists, once with lists of 1–4 entries so the pass stops and resumes after nearly every
// word; both must give the same lists, in order, inside the text.
//
//   word-pass-stress TABLES_FILE ITERATIONS SEED
//
// TABLES_FILE holds, little-endian: u32 keys length, u32 flags length, the fold table (65536 ×
// u16), the byte fold table (256 × u8), keys (i32), ids (i32), flags (u8): a real name index
// written by the test.

#define WORD_PASS_STANDALONE
#include "../../src/roster/native/word-pass.c"

#include <stdio.h>

static uint64_t rng_state;
static uint32_t rnd(uint32_t n) {
  rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
  return (uint32_t)(rng_state >> 33) % n;
}

static void *read_exact(FILE *f, size_t bytes) {
  void *p = malloc(bytes ? bytes : 1);
  if (!p || fread(p, 1, bytes, f) != bytes) {
    fprintf(stderr, "tables file is short\n");
    exit(2);
  }
  return p;
}

static const char *FRAGMENTS[] = {
  "Jack", "Hill", "O'", "Neill", "Zo\xc3\xab", "\xe2\x80\x99s", "'", "-", " ", "\n", "\r\n", "12", "/", "2014", "AB", "2A",
  "Mrs", "DOB", "\xc3\xa9", "\xcc\x88", "\xe7\x94\xb0", "\xf0\x9f\x98\x80", ",", ".", "b", "UPN", "A123456789012",
  "\xe2\x80", "\xc3", "\xf4\x90\x80\x80", "\xed\xa0\x80", "\xef\xbb\xbf", "\xc2\xa0", "SMITH", "jane", "`", "\xca\xbc",
};

typedef struct {
  int32_t *tok, *kw, *dig;
  size_t tok_cap, kw_cap, dig_cap;
  int32_t state[S_LENGTH];
} Lists;

static void reset(Lists *l) {
  memset(l->state, 0, sizeof l->state);
  l->state[S_PREV_END] = -1000000000;
  l->state[S_TITLE_END] = -1000000000;
}

// Scan the whole text with lists of `first` entries, growing those that fill up by `grow`.
static void scan_all(const WordTable *w, const Text *t, Lists *l, size_t first, size_t grow) {
  reset(l);
  l->tok_cap = l->kw_cap = l->dig_cap = first;
  l->tok = realloc(l->tok, first * 5 * sizeof(int32_t));
  l->kw = realloc(l->kw, first * 3 * sizeof(int32_t));
  l->dig = realloc(l->dig, first * 3 * sizeof(int32_t));
  for (int rounds = 0;; rounds++) {
    int full = word_pass(w, t, l->tok, l->tok_cap, l->kw, l->kw_cap, l->dig, l->dig_cap, l->state);
    if (!full) return;
    if (rounds > 1000000) {
      fprintf(stderr, "the pass does not advance\n");
      exit(1);
    }
    if ((size_t)l->state[S_TOKENS] >= l->tok_cap) {
      l->tok_cap += grow;
      l->tok = realloc(l->tok, l->tok_cap * 5 * sizeof(int32_t));
    }
    if ((size_t)l->state[S_KEYWORDS] >= l->kw_cap) {
      l->kw_cap += grow;
      l->kw = realloc(l->kw, l->kw_cap * 3 * sizeof(int32_t));
    }
    if ((size_t)l->state[S_DIGITS] >= l->dig_cap) {
      l->dig_cap += grow;
      l->dig = realloc(l->dig, l->dig_cap * 3 * sizeof(int32_t));
    }
  }
}

static void check_spans(const int32_t *xs, int32_t count, int stride, int at, size_t n, const char *what) {
  int32_t prev_end = 0;
  for (int32_t k = 0; k < count; k++) {
    int32_t s = xs[k * stride + at], e = xs[k * stride + at + 1];
    if (s < prev_end || e <= s || (size_t)e > n) {
      fprintf(stderr, "%s %d: span %d..%d outside the text or out of order (text %zu bytes)\n", what, k, s, e, n);
      exit(1);
    }
    prev_end = e;
  }
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: word-pass-stress TABLES_FILE ITERATIONS SEED\n");
    return 2;
  }
  FILE *f = fopen(argv[1], "rb");
  if (!f) {
    perror(argv[1]);
    return 2;
  }
  uint32_t keys_len, flags_len;
  if (fread(&keys_len, 4, 1, f) != 1 || fread(&flags_len, 4, 1, f) != 1) return 2;
  WordTable w;
  memset(&w, 0, sizeof w);
  w.fold = read_exact(f, 65536 * 2);
  w.fold8 = read_exact(f, 256);
  w.keys = read_exact(f, keys_len * 4);
  w.ids = read_exact(f, keys_len * 4);
  w.flags = read_exact(f, flags_len);
  w.flags_len = flags_len;
  w.mask = keys_len - 1;
  fclose(f);

  long iterations = atol(argv[2]);
  rng_state = (uint64_t)atoll(argv[3]);
  Lists roomy = {0}, tight = {0};
  long tokens = 0, digits = 0, keywords = 0;
  const size_t nfrag = sizeof FRAGMENTS / sizeof FRAGMENTS[0];
  char scratch[4096];
  for (long it = 0; it < iterations; it++) {
    size_t n = 0;
    int parts = 1 + (int)rnd(60);
    for (int p = 0; p < parts && n < sizeof scratch - 32; p++) {
      if (rnd(6) == 0) {
        scratch[n++] = (char)rnd(256);
      } else {
        const char *s = FRAGMENTS[rnd((uint32_t)nfrag)];
        size_t len = strlen(s);
        memcpy(scratch + n, s, len);
        n += len;
      }
    }
    uint8_t *text = malloc(n ? n : 1); // exactly n bytes: one past the end is caught
    memcpy(text, scratch, n);
    Text t = {w.fold, text, n};

    scan_all(&w, &t, &roomy, 4096, 4096);
    scan_all(&w, &t, &tight, 1, 1 + rnd(4));

    if (memcmp(roomy.state, tight.state, sizeof roomy.state) != 0 ||
        memcmp(roomy.tok, tight.tok, (size_t)roomy.state[S_TOKENS] * 5 * 4) != 0 ||
        memcmp(roomy.kw, tight.kw, (size_t)roomy.state[S_KEYWORDS] * 3 * 4) != 0 ||
        memcmp(roomy.dig, tight.dig, (size_t)roomy.state[S_DIGITS] * 3 * 4) != 0) {
      fprintf(stderr, "text %ld: resuming after full lists changed the result\n", it);
      return 1;
    }
    if ((size_t)roomy.state[S_POS] != n) {
      fprintf(stderr, "text %ld: stopped at %d of %zu bytes\n", it, roomy.state[S_POS], n);
      return 1;
    }
    check_spans(roomy.tok, roomy.state[S_TOKENS], 5, 0, n, "token");
    check_spans(roomy.kw, roomy.state[S_KEYWORDS], 3, 1, n, "keyword");
    check_spans(roomy.dig, roomy.state[S_DIGITS], 3, 0, n, "digit word");
    tokens += roomy.state[S_TOKENS];
    keywords += roomy.state[S_KEYWORDS];
    digits += roomy.state[S_DIGITS];
    free(text);
  }
  printf("checked %ld texts: %ld name words, %ld keyword words, %ld digit words\n", iterations, tokens, keywords, digits);
  free(roomy.tok), free(roomy.kw), free(roomy.dig), free(tight.tok), free(tight.kw), free(tight.dig);
  free((void *)w.fold), free((void *)w.fold8), free((void *)w.keys), free((void *)w.ids), free((void *)w.flags);
  return 0;
}
