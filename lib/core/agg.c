/*  agg.c — the aggregator: an open-addressing hash table built for group-by.

    How it works. Three parts, so that each is dense and grows without copying what it holds:
      - the index: a power-of-two array of 8-byte slots {tag, entry+1}, linear probing, load at
        most 3/4. The tag is the high half of the key's 64-bit hash, the home slot comes from the
        low half, so a probe that meets another key almost never looks further than the slot:
        one cache miss per row in the common case (8 slots share a cache line);
      - the entries: {count, key pointer, hash}, 24 bytes, appended in insertion order in blocks
        that double in size (block b holds 64 << b entries). They never move, so a pointer to a
        group's cells stays valid, and growing the index re-reads them in order (no key bytes);
      - the keys: in an arena of chunks that double in size, each key behind its 2-byte length.
    Per group that is 24 (entry) + 8/load (index, 10.7..21.3) + 2 (length) bytes: at most 48
    bytes plus the key's bytes. Blocks and chunks are allocated ahead but only touched when
    filled, so what is not used yet is not resident.

    The hash is a wyhash-style multiply-fold over 8-byte words: ~39-byte keys hash in a few
    multiplies, where a byte-at-a-time hash was a chain of 39 dependent multiplies.

    Change tracking (tl_agg_track, for the reducer's deltas): a bit per entry says "touched
    since the last clear", and a log of entry indices lists them in the order first touched.
    Both are grown in s_reserve with the entries, so recording a touch is two stores and
    cannot fail; clearing walks the log, not the table.

    Iteration (tl_agg_next) is in insertion order. The output sort (count descending, then key
    bytes) is a radix sort of 16-byte records {sort key, group, length}. A first pass in
    insertion order (sequential reads) counts the groups per count and takes the smallest and
    largest byte at every key position; a second buckets the records by count (below 1024:
    one pass, no compares) with their first sort key: the key bytes at the positions where
    keys differ, each in the bits its range needs, packed into 64 bits (two 2009-01 timestamps
    keep 16 varying digits, 52 bits). Each bucket is then sorted by that number, in place
    (MSD, American flag), and only records still equal get their next 64 bits, and then their
    length, in one prefetched pass per level. At 6 M groups nearly every group is told apart
    by the first number, and no key is read in output order before the output itself.
    tl_agg_sorted runs the sort inside the caller's output array (two records fit in one
    32-byte entry); tl_agg_order and tl_agg_view (`tally scan`'s result) run it in the hash
    index's place, which the table gives up. The view keeps the records, and when every key
    has one length and its varying bytes fit one sort key, a group's key is rebuilt from its
    record and its count read off its bucket: the output is written without reading the table
    in output order (a cache miss or three per group at 6 M groups).

    Two threads (tl_agg_view_new_par). The core starts none: the caller lends its own through a
    runner that runs n works at once and returns when all are done, and the view's sort gives
    it every step cut in two parts. The two passes over the table go by halves of it (each half
    its own histogram and byte ranges, then combined; a half's records go behind the half's
    before it in every bucket, so the buckets are filled as by one pass), and the sort by halves
    of the records, cut where no group of equal records spans the cut: at a bucket's start near
    the middle, else inside the middle bucket (at 6 M groups nearly all have count 1: one
    bucket), once its records are partitioned around a sampled sort key. The order is total
    (keys are distinct), and a part groups and re-keys its records as the whole would, so the
    records, and the view, are those of one thread.

    Memory. At millions of groups the arrays are hundreds of MB, and on a VM every fresh page
    is dear (a fault, and zeroing behind it: a third of `tally scan`'s time at 6 M groups), so
    arrays of 2 MiB and more are aligned for transparent huge pages and marked with madvise
    (s_big_malloc), and nothing big is allocated that the work can do without. Such a block is
    never grown with realloc: moving huge pages copied them, twice the memory for a moment. */
#include "lib/core/agg.h"
#include "lib/base/err.h"
#include <assert.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define S_LOAD_NUM 3            /* max load: 3/4 */
#define S_LOAD_DEN 4
#define S_BLK0 6                /* block b holds 1 << (S_BLK0 + b) entries */
#define S_NBLK 40
#define S_CHUNK0 65536          /* first key chunk; each next one doubles (>= S_PEND keys) */
#define S_PEND 16               /* adds in flight: enough to cover a cache miss */
#define S_PIPE_MIN 16384        /* index slots from which adds are pipelined (128 KB) */

typedef struct {
    uint32_t tag;               /* high 32 bits of the hash */
    uint32_t ent;               /* entry index + 1; 0 means empty */
} s_slot_t;

typedef struct {
    uint64_t count;
    const char *key;            /* in the arena, behind its uint16 length */
    uint64_t hash;
} s_ent_t;

typedef struct {
    uint64_t hash, n;
    uint32_t len;
} s_pend_t;

typedef struct {
    char *base;
    size_t len, cap;
} s_chunk_t;

struct tl_agg {
    s_slot_t *index;
    size_t cap, size;           /* index slots; groups */
    s_ent_t *blk [S_NBLK];      /* entries */
    tl_cell_t *cblk [S_NBLK];   /* cells, ncells per entry, parallel to blk; unused when ncells is 0 */
    unsigned nblk;              /* blocks allocated */
    unsigned ncells;
    s_chunk_t chunk [S_NBLK];   /* key arena */
    unsigned nchunk, cur;       /* chunks allocated; the one being filled */
    s_pend_t pend [S_PEND];     /* adds not placed yet (a ring), their index slots prefetched */
    char *pkeys;                /* their keys, TL_AGG_KEY_MAX bytes each */
    unsigned phead, npend;
    size_t kres;                /* arena bytes reserved for them */
    bool track;                 /* tl_agg_track: remember the groups touched */
    uint64_t *tbits;            /* a bit per entry: touched since the last clear */
    uint32_t *tlog;             /* the touched entries, in the order first touched */
    size_t tn, tcap;            /* entries in tlog; entries tlog and tbits have room for */
};

__extension__ typedef unsigned __int128 s_u128;

static inline uint64_t
s_mum (uint64_t a, uint64_t b)
{
    s_u128 r = (s_u128) a * b;
    return (uint64_t) r ^ (uint64_t) (r >> 64);
}

static inline uint64_t
s_r64 (const unsigned char *p)
{
    uint64_t v;
    memcpy (&v, p, 8);
    return v;
}

static inline uint64_t
s_r32 (const unsigned char *p)
{
    uint32_t v;
    memcpy (&v, p, 4);
    return v;
}

#define S_P0 0xa0761d6478bd642fULL
#define S_P1 0xe7037ed1a0b428dbULL
#define S_P2 0x8ebc6af09c88c6e3ULL

static inline uint64_t
s_hash (const char *key, size_t n)
{
    const unsigned char *p = (const unsigned char *) key;
    uint64_t a, b, seed = S_P0;
    if (n <= 16) {
        if (n >= 4) {
            a = (s_r32 (p) << 32) | s_r32 (p + ((n >> 3) << 2));
            b = (s_r32 (p + n - 4) << 32) | s_r32 (p + n - 4 - ((n >> 3) << 2));
        }
        else if (n > 0) {
            a = ((uint64_t) p [0] << 16) | ((uint64_t) p [n >> 1] << 8) | p [n - 1];
            b = 0;
        }
        else
            a = b = 0;
    }
    else {
        size_t i = n;
        uint64_t s1 = seed, s2 = seed;
        while (i > 32) {
            s1 = s_mum (s_r64 (p) ^ S_P1, s_r64 (p + 8) ^ s1);
            s2 = s_mum (s_r64 (p + 16) ^ S_P2, s_r64 (p + 24) ^ s2);
            p += 32;
            i -= 32;
        }
        seed = s1 ^ s2;
        if (i > 16) {
            seed = s_mum (s_r64 (p) ^ S_P1, s_r64 (p + 8) ^ seed);
            p += 16;
            i -= 16;
        }
        a = s_r64 (p + i - 16);
        b = s_r64 (p + i - 8);
    }
    return s_mum (S_P1 ^ n, s_mum (a ^ S_P1, b ^ seed));
}

/*  Entry i lives in block b at offset o, where block b starts at (2^b - 1) << S_BLK0. */
static inline void
s_locate (size_t i, unsigned *b, size_t *o)
{
    size_t j = (i >> S_BLK0) + 1;
    *b = (unsigned) (63 - __builtin_clzll ((unsigned long long) j));
    *o = i - ((((size_t) 1 << *b) - 1) << S_BLK0);
}

static inline s_ent_t *
s_ent (const tl_agg_t *self, size_t i)
{
    unsigned b;
    size_t o;
    s_locate (i, &b, &o);
    return &self->blk [b][o];
}

static inline tl_cell_t *
s_cells (const tl_agg_t *self, size_t i)
{
    unsigned b;
    size_t o;
    s_locate (i, &b, &o);
    return self->cblk [b] + o * self->ncells;
}

static inline uint32_t
s_klen (const char *key)
{
    uint16_t n;
    memcpy (&n, key - 2, 2);
    return n;
}

/*  Memory for a big array: the index, entry and cell blocks, key chunks and the sort's buffer
    reach hundreds of MB at millions of groups. From 2 MiB up an array is aligned to 2 MiB and
    marked for transparent huge pages: every fresh 4 KiB page costs a page fault (at 6 M groups
    the faults were most of the kernel's time), and every probe into a big table a TLB miss. It
    is a hint about memory, not I/O; where the kernel ignores it nothing changes. Freed with
    free(). */
#define S_HUGE ((size_t) 2 << 20)

static bool s_huge_pages = true;

void
tl_agg_huge_pages (bool on)
{
    s_huge_pages = on;
}

static void *
s_big_malloc (size_t n)
{
    if (n < S_HUGE)
        return malloc (n);
    size_t r = (n + S_HUGE - 1) & ~(S_HUGE - 1);
    void *p = aligned_alloc (S_HUGE, r);
#ifdef MADV_HUGEPAGE
    if (p && s_huge_pages)
        (void) madvise (p, r, MADV_HUGEPAGE);
#endif
    return p;
}

static void *
s_big_calloc (size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        return NULL;
    if (n * size < S_HUGE)
        return calloc (n, size);
    void *p = s_big_malloc (n * size);
    if (p)
        memset (p, 0, n * size);
    return p;
}

tl_agg_t *
tl_agg_new (void)
{
    return tl_agg_new_cells (0);
}

tl_agg_t *
tl_agg_new_cells (unsigned ncells)
{
    tl_agg_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->cap = 64;
    self->ncells = ncells;
    self->index = calloc (self->cap, sizeof (s_slot_t));
    if (!self->index) {
        free (self);
        return NULL;
    }
    return self;
}

void
tl_agg_destroy (tl_agg_t **self_p)
{
    if (self_p && *self_p) {
        tl_agg_t *self = *self_p;
        for (unsigned b = 0; b < self->nblk; b++) {
            free (self->blk [b]);
            free (self->cblk [b]);
        }
        for (unsigned c = 0; c < self->nchunk; c++)
            free (self->chunk [c].base);
        free (self->index);
        free (self->pkeys);
        free (self->tbits);
        free (self->tlog);
        free (self);
        *self_p = NULL;
    }
}

/*  The slot that holds key, or the empty slot where it would go. */
static inline s_slot_t *
s_find (const tl_agg_t *self, const char *key, size_t len, uint64_t h)
{
    assert (self->index);   /* not after tl_agg_order */
    size_t mask = self->cap - 1;
    uint32_t tag = (uint32_t) (h >> 32);
    for (size_t i = (size_t) h & mask;; i = (i + 1) & mask) {
        s_slot_t *s = &self->index [i];
        if (s->ent == 0)
            return s;
        if (s->tag == tag) {
            const s_ent_t *e = s_ent (self, s->ent - 1);
            if (s_klen (e->key) == len && memcmp (e->key, key, len) == 0)
                return s;
        }
    }
}

static int
s_grow_index_to (tl_agg_t *self, size_t ncap)
{
    size_t mask = ncap - 1;
    if (ncap > ((size_t) 1 << 32))
        return TL_ENOMEM;
    s_slot_t *ni = s_big_calloc (ncap, sizeof *ni);
    if (!ni)
        return TL_ENOMEM;
    /* Re-insert from the entries, in order: sequential reads, and no key bytes touched. */
    for (size_t i = 0; i < self->size; i++) {
        if (i + 16 < self->size)
            __builtin_prefetch (&ni [(size_t) s_ent (self, i + 16)->hash & mask], 1);
        uint64_t h = s_ent (self, i)->hash;
        size_t j = (size_t) h & mask;
        while (ni [j].ent)
            j = (j + 1) & mask;
        ni [j] = (s_slot_t) { (uint32_t) (h >> 32), (uint32_t) (i + 1) };
    }
    free (self->index);
    self->index = ni;
    self->cap = ncap;
    return 0;
}

static int
s_grow_index (tl_agg_t *self)
{
    return s_grow_index_to (self, self->cap * 2);
}

int
tl_agg_reserve (tl_agg_t *self, size_t groups)
{
    if (!self->index)
        return TL_EINVAL;   /* sealed */
    size_t ncap = self->cap;
    while (groups * S_LOAD_DEN > ncap * S_LOAD_NUM && ncap <= ((size_t) 1 << 32))
        ncap *= 2;
    return ncap == self->cap ? 0 : s_grow_index_to (self, ncap);
}

/*  Room for one more new group of len key bytes, on top of the pending ones (which may all be
    new): index, entry block and arena are all allocated here, so that placing a group can not
    fail. On failure the table is unchanged. */
/*  Room in the touch log and bits for want entries. */
static int
s_reserve_track (tl_agg_t *self, size_t want)
{
    if (!self->track || want <= self->tcap)
        return 0;
    size_t cap = self->tcap * 2 > want ? self->tcap * 2 : want;
    cap = (cap + 63) & ~(size_t) 63;
    uint32_t *log = realloc (self->tlog, cap * sizeof *log);
    if (!log)
        return TL_ENOMEM;
    self->tlog = log;
    uint64_t *bits = realloc (self->tbits, cap / 64 * sizeof *bits);
    if (!bits)
        return TL_ENOMEM;
    memset (bits + self->tcap / 64, 0, (cap - self->tcap) / 64 * sizeof *bits);
    self->tbits = bits;
    self->tcap = cap;
    return 0;
}

static inline void
s_touch (tl_agg_t *self, size_t i)
{
    if (__builtin_expect (self->track, 0)) {
        uint64_t bit = 1ULL << (i & 63);
        if (!(self->tbits [i >> 6] & bit)) {
            self->tbits [i >> 6] |= bit;
            self->tlog [self->tn++] = (uint32_t) i;
        }
    }
}

static int
s_reserve (tl_agg_t *self, size_t len)
{
    size_t want = self->size + self->npend + 1;
    if (want >= UINT32_MAX || s_reserve_track (self, want))
        return TL_ENOMEM;
    if (want * S_LOAD_DEN > self->cap * S_LOAD_NUM && s_grow_index (self))
        return TL_ENOMEM;
    while (((((size_t) 1 << self->nblk) - 1) << S_BLK0) < want) {
        if (self->nblk == S_NBLK)
            return TL_ENOMEM;
        size_t n = (size_t) 1 << (S_BLK0 + self->nblk);
        s_ent_t *e = s_big_malloc (n * sizeof *e);
        tl_cell_t *c = self->ncells ? s_big_malloc (n * self->ncells * sizeof *c) : NULL;
        if (!e || (self->ncells && !c)) {
            free (e);
            free (c);
            return TL_ENOMEM;
        }
        self->blk [self->nblk] = e;
        self->cblk [self->nblk] = c;
        self->nblk++;
    }
    size_t need = self->kres + len + 2;
    unsigned cur = self->cur;
    while (self->cur < self->nchunk && self->chunk [self->cur].len + need > self->chunk [self->cur].cap)
        self->cur++;
    if (self->cur == self->nchunk) {
        if (self->nchunk == S_NBLK)
            return TL_ENOMEM;
        size_t cap = self->nchunk ? self->chunk [self->nchunk - 1].cap * 2 : S_CHUNK0;
        char *p = cap >= need ? s_big_malloc (cap) : NULL;
        if (!p) {
            self->cur = cur;
            return TL_ENOMEM;
        }
        self->chunk [self->nchunk++] = (s_chunk_t) { p, 0, cap };
    }
    return 0;
}

/*  Find or insert key, with room already reserved (s_reserve): cannot fail. Returns the entry. */
static inline size_t
s_place (tl_agg_t *self, const char *key, size_t len, uint64_t h, uint64_t n)
{
    s_slot_t *s = s_find (self, key, len, h);
    if (s->ent) {
        s_ent (self, s->ent - 1)->count += n;
        s_touch (self, s->ent - 1);
        return s->ent - 1;
    }
    s_chunk_t *c = &self->chunk [self->cur];
    char *k = c->base + c->len;
    uint16_t l16 = (uint16_t) len;
    memcpy (k, &l16, 2);
    memcpy (k + 2, key, len);
    c->len += len + 2;
    size_t i = self->size++;
    *s_ent (self, i) = (s_ent_t) { n, k + 2, h };
    if (self->ncells) {
        tl_cell_t *cl = s_cells (self, i);
        for (unsigned j = 0; j < self->ncells; j++)
            tl_cell_init (&cl [j]);
    }
    s->tag = (uint32_t) (h >> 32);
    s->ent = (uint32_t) (i + 1);
    s_touch (self, i);
    return i;
}

/*  Place the oldest pending add. */
static void
s_pop (tl_agg_t *self)
{
    s_pend_t *p = &self->pend [self->phead];
    const char *key = self->pkeys + (size_t) self->phead * TL_AGG_KEY_MAX;
    self->npend--;
    self->kres -= p->len + 2;
    self->phead = (self->phead + 1) % S_PEND;
    s_place (self, key, p->len, p->hash, p->n);
}

/*  Place every pending add (before any read). Takes a const table because the reads do: the
    pending adds are part of its logical state, and the table is never a const object. */
static void
s_flush (const tl_agg_t *cself)
{
    tl_agg_t *self = (tl_agg_t *) cself;
    while (self->npend)
        s_pop (self);
}

/*  Find or insert key now; returns its entry index, or a negative error. */
static int64_t
s_upsert (tl_agg_t *self, const char *key, size_t len, uint64_t n)
{
    if (len > TL_AGG_KEY_MAX || !self->index)
        return TL_EINVAL;   /* too long, or sealed */
    s_flush (self);
    uint64_t h = s_hash (key, len);
    s_slot_t *s = s_find (self, key, len, h);
    if (s->ent) {               /* the common case: a group we have */
        s_ent (self, s->ent - 1)->count += n;
        s_touch (self, s->ent - 1);
        return s->ent - 1;
    }
    int rc = s_reserve (self, len);
    if (rc)
        return rc;
    return (int64_t) s_place (self, key, len, h, n);
}

/*  Add n to key's count, maybe later. A big table is missed in cache on nearly every new key,
    so an add is queued with its index slot prefetched, and placed S_PEND adds later, when the
    slot has arrived. A small table (the index fits in cache) is updated at once. */
static int
s_add (tl_agg_t *self, const char *key, size_t len, uint64_t n)
{
    if (len > TL_AGG_KEY_MAX || !self->index)
        return TL_EINVAL;   /* too long, or sealed (tl_agg_order, tl_agg_view_new) */
    if (self->cap < S_PIPE_MIN || self->ncells
        || (!self->pkeys && !(self->pkeys = malloc ((size_t) S_PEND * TL_AGG_KEY_MAX)))) {
        int64_t i = s_upsert (self, key, len, n);
        return i < 0 ? (int) i : 0;
    }
    if (self->npend == S_PEND)
        s_pop (self);
    uint64_t h = s_hash (key, len);
    int rc = s_reserve (self, len);
    if (rc)
        return rc;
    unsigned at = (self->phead + self->npend) % S_PEND;
    memcpy (self->pkeys + (size_t) at * TL_AGG_KEY_MAX, key, len);
    self->pend [at] = (s_pend_t) { h, n, (uint32_t) len };
    self->npend++;
    self->kres += len + 2;
    __builtin_prefetch (&self->index [(size_t) h & (self->cap - 1)], 1);
    return 0;
}

void
tl_cell_init (tl_cell_t *c)
{
    c->n = c->bad = 0;
    c->sum = 0;
    c->min = INFINITY;
    c->max = -INFINITY;
}

void
tl_cell_merge (tl_cell_t *into, const tl_cell_t *from)
{
    into->n += from->n;
    into->bad += from->bad;
    into->sum += from->sum;
    if (from->min < into->min)
        into->min = from->min;
    if (from->max > into->max)
        into->max = from->max;
}

unsigned
tl_agg_ncells (const tl_agg_t *self)
{
    return self->ncells;
}

tl_cell_t *
tl_agg_upsert (tl_agg_t *self, const char *key, size_t len, uint64_t n, int *rc)
{
    if (!self->ncells) {
        *rc = s_add (self, key, len, n);
        return NULL;
    }
    int64_t i = s_upsert (self, key, len, n);
    *rc = i < 0 ? (int) i : 0;
    if (i < 0 || !self->ncells)
        return NULL;
    return s_cells (self, (size_t) i);
}

int
tl_agg_merge (tl_agg_t *self, const char *key, size_t len, uint64_t n, const tl_cell_t *cells)
{
    int rc;
    tl_cell_t *c = tl_agg_upsert (self, key, len, n, &rc);
    if (rc == 0 && c && cells)
        for (unsigned i = 0; i < self->ncells; i++)
            tl_cell_merge (&c [i], &cells [i]);
    return rc;
}

int
tl_agg_add (tl_agg_t *self, const char *key, size_t len, uint64_t n)
{
    return s_add (self, key, len, n);
}

int
tl_agg_add_entries (tl_agg_t *self, const tl_agg_entry_t *v, size_t n)
{
    if (!self->index)
        return TL_EINVAL;   /* sealed */
    if (self->ncells || self->cap < S_PIPE_MIN) {
        for (size_t i = 0; i < n; i++) {
            int rc = tl_agg_merge (self, v [i].key, v [i].len, v [i].count, v [i].cells);
            if (rc)
                return rc;
        }
        return 0;
    }
    /* s_add's pipeline without its queue: the keys stay put for the call, so each slot is
       prefetched S_AHEAD groups early by its hash alone, and no key is copied aside. */
    enum { S_AHEAD = 16 };
    uint64_t hs [S_AHEAD];
    s_flush (self);
    for (size_t i = 0; i < n && i < S_AHEAD; i++) {
        hs [i] = s_hash (v [i].key, v [i].len);
        __builtin_prefetch (&self->index [(size_t) hs [i] & (self->cap - 1)], 1);
    }
    for (size_t i = 0; i < n; i++) {
        uint64_t h = hs [i % S_AHEAD];
        if (i + S_AHEAD < n) {
            const tl_agg_entry_t *a = &v [i + S_AHEAD];
            uint64_t ha = s_hash (a->key, a->len);
            hs [i % S_AHEAD] = ha;
            __builtin_prefetch (&self->index [(size_t) ha & (self->cap - 1)], 1);
        }
        if (v [i].len > TL_AGG_KEY_MAX)
            return TL_EINVAL;
        s_slot_t *s = s_find (self, v [i].key, v [i].len, h);
        if (s->ent) {       /* a group we have: no room needed, so no failure */
            s_ent (self, s->ent - 1)->count += v [i].count;
            s_touch (self, s->ent - 1);
            continue;
        }
        int rc = s_reserve (self, v [i].len);
        if (rc)
            return rc;
        s_place (self, v [i].key, v [i].len, h, v [i].count);    /* finds the slot again: the index may have grown */
    }
    return 0;
}

uint64_t
tl_agg_get (const tl_agg_t *self, const char *key, size_t len)
{
    if (len > TL_AGG_KEY_MAX || !self->index)
        return 0;
    s_flush (self);
    s_slot_t *s = s_find (self, key, len, s_hash (key, len));
    return s->ent ? s_ent (self, s->ent - 1)->count : 0;
}

size_t
tl_agg_size (const tl_agg_t *self)
{
    s_flush (self);
    return self->size;
}

uint64_t
tl_agg_total (const tl_agg_t *self)
{
    uint64_t t = 0;
    s_flush (self);
    for (size_t i = 0; i < self->size; i++)
        t += s_ent (self, i)->count;
    return t;
}

static void s_entry (const tl_agg_t *self, size_t i, tl_agg_entry_t *e);

int
tl_agg_next (const tl_agg_t *self, size_t *pos, tl_agg_entry_t *e)
{
    s_flush (self);
    if (*pos >= self->size)
        return 0;
    s_entry (self, (*pos)++, e);
    return 1;
}

void
tl_agg_clear (tl_agg_t *self)
{
    /* Sealed (tl_agg_order, tl_agg_view_new): a new, small index; without memory for it the
       table stays sealed, and every add says so. */
    if (!self->index && (self->index = calloc (64, sizeof (s_slot_t))))
        self->cap = 64;
    if (self->index)
        memset (self->index, 0, self->cap * sizeof (s_slot_t));
    self->size = 0;
    self->npend = 0;        /* pending adds are dropped with the rest */
    self->kres = 0;
    for (unsigned c = 0; c < self->nchunk; c++)
        self->chunk [c].len = 0;
    self->cur = 0;
    if (self->tbits)
        memset (self->tbits, 0, self->tcap / 64 * sizeof *self->tbits);
    self->tn = 0;
}

/*  Group i as an entry (borrowed). */
static void
s_entry (const tl_agg_t *self, size_t i, tl_agg_entry_t *e)
{
    const s_ent_t *x = s_ent (self, i);
    e->key = x->key;
    e->len = s_klen (x->key);
    e->count = x->count;
    e->cells = self->ncells ? s_cells (self, i) : NULL;
}

int
tl_agg_find (const tl_agg_t *self, const char *key, size_t len, tl_agg_entry_t *e)
{
    if (len > TL_AGG_KEY_MAX || !self->index)
        return 0;
    s_flush (self);
    s_slot_t *s = s_find (self, key, len, s_hash (key, len));
    if (!s->ent)
        return 0;
    s_entry (self, s->ent - 1, e);
    return 1;
}

int
tl_agg_set (tl_agg_t *self, const char *key, size_t len, uint64_t count, const tl_cell_t *cells, uint64_t *old,
            tl_agg_entry_t *e)
{
    int64_t i = s_upsert (self, key, len, 0);
    if (i < 0)
        return (int) i;
    s_ent_t *x = s_ent (self, (size_t) i);
    if (old)
        *old = x->count;
    x->count = count;
    if (cells && self->ncells)
        memcpy (s_cells (self, (size_t) i), cells, self->ncells * sizeof *cells);
    if (e)
        s_entry (self, (size_t) i, e);
    return 0;
}

int
tl_agg_track (tl_agg_t *self)
{
    if (self->track)
        return 0;
    s_flush (self);
    self->track = true;
    if (s_reserve_track (self, self->size + S_PEND + 1)) {
        self->track = false;
        return TL_ENOMEM;
    }
    return 0;
}

size_t
tl_agg_touched_count (const tl_agg_t *self)
{
    s_flush (self);
    return self->tn;
}

int
tl_agg_touched_next (const tl_agg_t *self, size_t *pos, tl_agg_entry_t *e)
{
    s_flush (self);
    if (*pos >= self->tn)
        return 0;
    s_entry (self, self->tlog [(*pos)++], e);
    return 1;
}

void
tl_agg_touched_clear (tl_agg_t *self)
{
    s_flush (self);     /* adds made before the clear are placed (and touched) before it */
    for (size_t k = 0; k < self->tn; k++)
        self->tbits [self->tlog [k] >> 6] &= ~(1ULL << (self->tlog [k] & 63));
    self->tn = 0;
}

/* ---------------------------------------------------------------------------------------------
   The output sort: count descending, then key bytes ascending, a key before its extensions. */

static int
s_cmp (const void *a, const void *b)
{
    const tl_agg_entry_t *x = a, *y = b;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp (x->key, y->key, n);
    if (c)
        return c;
    return (x->len > y->len) - (x->len < y->len);
}

int
tl_agg_entry_before (const tl_agg_entry_t *x, const tl_agg_entry_t *y)
{
    return s_cmp (x, y) < 0;
}

/*  Heap of the best k so far, the worst at the root. */
static void
s_sift (tl_agg_entry_t *h, size_t n, size_t i)
{
    for (;;) {
        size_t w = i, l = 2 * i + 1, r = l + 1;
        if (l < n && s_cmp (&h [w], &h [l]) < 0)
            w = l;
        if (r < n && s_cmp (&h [w], &h [r]) < 0)
            w = r;
        if (w == i)
            return;
        tl_agg_entry_t t = h [i];
        h [i] = h [w];
        h [w] = t;
        i = w;
    }
}

void
tl_agg_top_offer (tl_agg_entry_t *h, size_t cap, size_t *n, const tl_agg_entry_t *e)
{
    if (*n < cap) {
        h [(*n)++] = *e;
        if (*n == cap)
            for (size_t j = cap / 2 + 1; j-- > 0;)
                s_sift (h, cap, j);
    }
    else if (cap && s_cmp (e, &h [0]) < 0) {
        h [0] = *e;
        s_sift (h, cap, 0);
    }
}

/*  The output sort's record: a group (index i) with the sort key of the current pass. */
typedef struct {
    uint64_t k;                 /* the sort key of this pass */
    uint32_t i;                 /* index into the entries */
    uint32_t len;               /* key length, and S_START */
} s_rec_t;

#define S_START 0x80000000u     /* in s_rec_t.len: the record starts a group not yet told apart */
#define S_CDIRECT 1024          /* counts below this are bucketed directly, the rest sorted */

/*  A key byte position where keys differ, as a field of a sort key: the byte minus min, in
    width bits. */
typedef struct {
    uint16_t pos;
    uint8_t min, width;
    uint8_t shift;              /* where it sits in its level's number */
} s_field_t;

#define S_NPART 2               /* parts of a sort given a runner (tl_agg_view_new_par) */
#define S_SAMPLE 255            /* records sampled to pick where a group is cut in two */

typedef struct s_sorter s_sorter_t;

/*  One part of a sort's work, run on a thread of the caller's: entries [lo, hi) in the first
    passes, records [lo, hi) in the partition and the sort. Every part writes only its own
    struct and its own records, and reads the sorter and the table, which no part writes. */
typedef struct {
    const s_sorter_t *s;
    s_rec_t *r;
    size_t lo, hi;
    size_t hist [S_CDIRECT + 1];    /* its groups per count bucket, then where its next goes */
    unsigned char kmin [TL_AGG_KEY_MAX + 16], kmax [TL_AGG_KEY_MAX + 16];  /* byte per position */
    uint32_t minlen, maxlen;
    size_t nb0;                 /* sort: its records of bucket 0 (they come first) */
    uint64_t pivot;             /* partition: records with k below it go first */
    size_t mid;                 /* partition: where the others start; swap: the other range */
} s_part_t;

/*  What is sorted: an array of entries (tl_agg_sort_entries), or the table's own groups
    (v NULL). The fields (s_fields) in key order; level l packs fields [lev [l], lev [l + 1])
    into one 64-bit sort key. */
struct s_sorter {
    const tl_agg_entry_t *v;
    const tl_agg_t *agg;
    s_field_t f [TL_AGG_KEY_MAX];
    uint16_t lev [TL_AGG_KEY_MAX + 1];
    size_t nlev;
    uint32_t minlen, maxlen;    /* of the keys */
    size_t hist [S_CDIRECT + 1];    /* groups per count bucket (s_bucket) */
    s_part_t part [S_NPART];
};

static inline const char *
s_key_of (const s_sorter_t *s, uint32_t i)
{
    return s->v ? s->v [i].key : s_ent (s->agg, i)->key;
}

static inline uint32_t
s_len_of (const s_sorter_t *s, uint32_t i, const char *key)
{
    return s->v ? s->v [i].len : s_klen (key);
}

static inline uint64_t
s_count_of (const s_sorter_t *s, uint32_t i)
{
    return s->v ? s->v [i].count : s_ent (s->agg, i)->count;
}

/*  Where the key pointer of group i lives (to prefetch it). */
static inline const void *
s_holder_of (const s_sorter_t *s, uint32_t i)
{
    return s->v ? (const void *) &s->v [i] : (const void *) s_ent (s->agg, i);
}

/*  Count bucket: counts of S_CDIRECT and more first (bucket 0, sorted afterwards), then the
    smaller counts descending. */
static inline size_t
s_bucket (uint64_t count)
{
    return count >= S_CDIRECT ? 0 : S_CDIRECT - (size_t) count;
}

/*  Pack the fields of level lev of a key into a number, the first field most significant; a
    byte past the key's end is 0 (such a field has min 0). Keys sort as these numbers do. */
static inline uint64_t
s_gather (const s_sorter_t *s, const char *key, uint32_t len, size_t lev)
{
    const unsigned char *k = (const unsigned char *) key;
    uint64_t v = 0;
    for (size_t j = s->lev [lev]; j < s->lev [lev + 1]; j++) {
        const s_field_t *f = &s->f [j];     /* independent terms, not a chain of shifts */
        v |= (f->pos < len ? (uint64_t) (k [f->pos] - f->min) : 0) << f->shift;
    }
    return v;
}

__extension__ typedef unsigned char s_v16 __attribute__ ((vector_size (16)));

/*  Bytes [at, at+16) of lo and hi widened to take v's. */
static inline void
s_minmax16 (unsigned char *lo, unsigned char *hi, const char *v, size_t at)
{
    s_v16 x, a, b;
    memcpy (&x, v, 16);
    memcpy (&a, lo + at, 16);
    memcpy (&b, hi + at, 16);
    s_v16 m = (s_v16) (x < a);
    a = (x & m) | (a & ~m);
    m = (s_v16) (x > b);
    b = (x & m) | (b & ~m);
    memcpy (lo + at, &a, 16);
    memcpy (hi + at, &b, 16);
}

/*  First pass, in insertion order (sequential reads): the count buckets' sizes, and the
    smallest and largest byte at each key position, so that the key sort looks only at the
    positions where keys differ, and at each in as few bits as its range needs: keys with a
    common prefix and common middle parts ("2009-01-", the separators, digits) pack many
    positions into one 64-bit number (two timestamps, 16 digits, take 52 bits), and most groups
    are told apart by one radix sort with no key read again. A part (a work of the runner)
    passes over entries [lo, hi), and s_fields combines the parts. */
static void
s_scan (void *arg)
{
    s_part_t *p = arg;
    const s_sorter_t *s = p->s;
    unsigned char *lo = p->kmin, *hi = p->kmax;
    memset (p->hist, 0, sizeof p->hist);
    memset (lo, 0xff, sizeof p->kmin);
    memset (hi, 0, sizeof p->kmax);
    uint32_t minlen = UINT32_MAX, maxlen = 0;
    for (size_t i = p->lo; i < p->hi; i++) {
        const char *k = s_key_of (s, (uint32_t) i);
        uint32_t len = s_len_of (s, (uint32_t) i, k);
        p->hist [s_bucket (s_count_of (s, (uint32_t) i))]++;
        minlen = len < minlen ? len : minlen;
        maxlen = len > maxlen ? len : maxlen;
        if (len >= 16) {
            /* 16 bytes a step, the last step ending at the key's end (min and max do not mind
               a byte taken twice); nothing is read past the key. */
            size_t at = 0;
            for (; at + 16 <= len; at += 16)
                s_minmax16 (lo, hi, k + at, at);
            if (at < len)
                s_minmax16 (lo, hi, k + len - 16, len - 16);
        }
        else
            for (uint32_t q = 0; q < len; q++) {
                unsigned char c = (unsigned char) k [q];
                lo [q] = c < lo [q] ? c : lo [q];
                hi [q] = c > hi [q] ? c : hi [q];
            }
    }
    p->minlen = minlen;
    p->maxlen = maxlen;
}

/*  The fields from the parts' first passes (s_scan): the positions where keys differ, each in
    the bits its range needs, packed into levels of 64 bits. A position past the shortest key
    takes 8 bits (zero padding, then the length, orders a key before its extensions). Also
    the count buckets' sizes, and each part's place in each bucket (its records follow those
    of the parts before it: the buckets are filled in insertion order, as by one pass). */
static void
s_fields (s_sorter_t *s, size_t nparts)
{
    unsigned char *lo = s->part [0].kmin, *hi = s->part [0].kmax;
    uint32_t minlen = s->part [0].minlen, maxlen = s->part [0].maxlen;
    for (size_t t = 1; t < nparts; t++) {
        const s_part_t *p = &s->part [t];
        for (size_t q = 0; q < sizeof p->kmin; q++) {
            lo [q] = p->kmin [q] < lo [q] ? p->kmin [q] : lo [q];
            hi [q] = p->kmax [q] > hi [q] ? p->kmax [q] : hi [q];
        }
        minlen = p->minlen < minlen ? p->minlen : minlen;
        maxlen = p->maxlen > maxlen ? p->maxlen : maxlen;
    }
    for (size_t b = 0, at = 0; b <= S_CDIRECT; b++) {
        s->hist [b] = 0;
        for (size_t t = 0; t < nparts; t++) {
            size_t c = s->part [t].hist [b];
            s->part [t].hist [b] = at;
            s->hist [b] += c;
            at += c;
        }
    }
    size_t nf = 0, bits = 0;
    s->nlev = 0;
    s->lev [0] = s->lev [1] = 0;     /* no fields (one key): level 0 is empty */
    for (uint32_t p = 0; p < maxlen; p++) {
        unsigned min = p < minlen ? lo [p] : 0u, range = p < minlen ? (unsigned) (hi [p] - lo [p]) : 255u;
        if (!range)
            continue;
        unsigned width = 32 - (unsigned) __builtin_clz (range);
        if (bits + width > 64) {
            s->lev [++s->nlev] = (uint16_t) nf;
            bits = 0;
        }
        s->f [nf++] = (s_field_t) { (uint16_t) p, (uint8_t) min, (uint8_t) width, 0 };
        bits += width;
    }
    if (nf)
        s->lev [++s->nlev] = (uint16_t) nf;
    for (size_t l = 0; l < s->nlev; l++)
        for (size_t j = s->lev [l + 1], at = 0; j-- > s->lev [l]; at += s->f [j].width)
            s->f [j].shift = (uint8_t) at;
    s->minlen = minlen;
    s->maxlen = maxlen;
}

static void
s_isort_k (s_rec_t *r, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        s_rec_t x = r [i];
        size_t j = i;
        while (j && r [j - 1].k > x.k) {
            r [j] = r [j - 1];
            j--;
        }
        r [j] = x;
    }
}

/*  In-place MSD radix sort of r [0..n) by k from the 8 bits at shift down (American flag
    sort: each pass counts a digit, then cycles every record into its bucket), skipping digits
    on which all agree. In place, so the sort needs no scratch the size of its input; after the first
    pass the buckets are small enough for the cache. */
static void
s_afsort (s_rec_t *r, size_t n, int shift)
{
    size_t cnt [256], head [256], end [256];
    for (;;) {
        if (n <= 32) {
            s_isort_k (r, n);
            return;
        }
        memset (cnt, 0, sizeof cnt);
        for (size_t i = 0; i < n; i++)
            cnt [(r [i].k >> shift) & 0xff]++;
        if (cnt [(r [0].k >> shift) & 0xff] == n) {
            if (shift == 0)
                return;
            shift = shift > 8 ? shift - 8 : 0;
            continue;
        }
        size_t sum = 0;
        for (int b = 0; b < 256; b++) {
            head [b] = sum;
            sum += cnt [b];
            end [b] = sum;
        }
        for (int b = 0; b < 256; b++)
            while (head [b] < end [b]) {
                s_rec_t x = r [head [b]];
                unsigned d = (unsigned) (x.k >> shift) & 0xff;
                while (d != (unsigned) b) {
                    s_rec_t t = r [head [d]];
                    r [head [d]++] = x;
                    x = t;
                    d = (unsigned) (x.k >> shift) & 0xff;
                }
                r [head [b]++] = x;
            }
        if (shift == 0)
            return;
        for (int b = 0; b < 256; b++)
            if (cnt [b] > 1)
                s_afsort (r + end [b] - cnt [b], cnt [b], shift > 8 ? shift - 8 : 0);
        return;
    }
}

/*  Sort r [0..n) by k, then mark where k changes (S_START), the first record included. */
static void
s_sort_group (s_rec_t *r, size_t n)
{
    uint64_t diff = 0;
    for (size_t i = 1; i < n; i++)
        diff |= r [i].k ^ r [0].k;
    if (diff) {
        if (n <= 32)
            s_isort_k (r, n);
        else {
            /* The first digit is the top 8 bits that differ, not a byte boundary: 256 buckets
               from the first pass, so that the next passes work in cache. (Digits below may
               overlap the last one: bits already equal in a bucket sort as equal.) */
            int top = 63 - __builtin_clzll (diff);
            s_afsort (r, n, top >= 7 ? top - 7 : 0);
        }
    }
    r [0].len |= S_START;
    for (size_t i = 1; i < n; i++)
        r [i].len = (r [i].len & ~S_START) | (r [i].k != r [i - 1].k ? S_START : 0);
}

/*  Is record j alone in its group? */
static inline bool
s_alone (const s_rec_t *r, size_t n, size_t j)
{
    return (r [j].len & S_START) && (j + 1 == n || (r [j + 1].len & S_START));
}

/*  Set k of every record that shares its group to the sort key of level lev: key bytes
    pos [8 lev ..] for lev < the levels, the key length after them. The records are in output
    order, not the table's, so every key is a cache miss: fetched two steps ahead (the entry
    for its key pointer, then the key). Returns whether any group has more than one record. */
static bool
s_next_keys (const s_sorter_t *s, s_rec_t *r, size_t n, size_t lev, size_t nlev)
{
    bool any = false;
    for (size_t j = 0; j < n; j++) {
        if (j + 32 < n && !s_alone (r, n, j + 32))
            __builtin_prefetch (s_holder_of (s, r [j + 32].i));
        if (j + 16 < n && !s_alone (r, n, j + 16) && lev < nlev)
            __builtin_prefetch (s_key_of (s, r [j + 16].i) + s->f [s->lev [lev]].pos);
        if (s_alone (r, n, j))
            continue;
        any = true;
        uint32_t len = r [j].len & ~S_START;
        r [j].k = lev < nlev ? s_gather (s, s_key_of (s, r [j].i), len, lev) : len;
    }
    return any;
}

/*  Sort every group of more than one record by k, splitting it where k differs. */
static void
s_refine (s_rec_t *r, size_t n)
{
    for (size_t a = 0; a < n;) {
        size_t b = a + 1;
        while (b < n && !(r [b].len & S_START))
            b++;
        if (b - a > 1)
            s_sort_group (r + a, b - a);
        a = b;
    }
}

/*  Second pass over a part's entries: each group's record into its count bucket, behind the
    part's earlier ones, with its first sort key (a big count's is ~count: sorted first). */
static void
s_fill (void *arg)
{
    s_part_t *p = arg;
    const s_sorter_t *s = p->s;
    for (size_t i = p->lo; i < p->hi; i++) {
        const char *k = s_key_of (s, (uint32_t) i);
        uint32_t len = s_len_of (s, (uint32_t) i, k);
        uint64_t c = s_count_of (s, (uint32_t) i);
        size_t b = s_bucket (c);
        s_rec_t x = { b ? s_gather (s, k, len, 0) : ~c, (uint32_t) i, len };
        memcpy (&p->r [p->hist [b]++], &x, sizeof x);
    }
}

/*  Sort a part's records: its share of bucket 0 by count, those of one count then by their
    first sort key; then level by level each group of records still equal by its next 8
    varying key bytes, the last level by length, each level one pass with its key reads
    prefetched. A group never spans two parts, so a part's records sort as they would with
    all the others (a part stops at its own last level: the rest were alone there anyway). */
static void
s_sort_part (void *arg)
{
    s_part_t *p = arg;
    const s_sorter_t *s = p->s;
    s_rec_t *r = p->r + p->lo;
    size_t n = p->hi - p->lo;
    if (p->nb0 > 1) {
        s_sort_group (r, p->nb0);
        for (size_t j = 0; j < p->nb0; j++)
            if (!s_alone (r, n, j))
                r [j].k = s_gather (s, s_key_of (s, r [j].i), r [j].len & ~S_START, 0);
    }
    for (size_t lev = 0;; lev++) {
        s_refine (r, n);
        if (lev == s->nlev || !s_next_keys (s, r, n, lev + 1, s->nlev))
            break;
    }
}

/*  The k below which about want of r [0..n)'s records lie, from a sample: cutting there
    needs no pass to count, and a cut a percent or two off the middle costs as little. */
static uint64_t
s_pivot (const s_rec_t *r, size_t n, size_t want)
{
    uint64_t k [S_SAMPLE];
    for (size_t q = 0; q < S_SAMPLE; q++) {
        uint64_t x = r [q * n / S_SAMPLE].k;
        size_t j = q;
        for (; j && k [j - 1] > x; j--)
            k [j] = k [j - 1];
        k [j] = x;
    }
    return k [want * S_SAMPLE / n];
}

/*  Move a part's records with k below its pivot before the others, in one pass without
    branches on k (half of them go each way: a branch would miss every other record). */
static void
s_partition (void *arg)
{
    s_part_t *p = arg;
    s_rec_t *r = p->r;
    size_t m = p->lo;
    for (size_t i = p->lo; i < p->hi; i++) {
        s_rec_t x = r [i], y = r [m];
        r [m] = x;
        r [i] = y;
        m += x.k < p->pivot;
    }
    p->mid = m;
}

/*  Swap records [lo, hi) with those from mid on. */
static void
s_swap (void *arg)
{
    s_part_t *p = arg;
    for (size_t x = 0; x < p->hi - p->lo; x++) {
        s_rec_t t = p->r [p->lo + x];
        p->r [p->lo + x] = p->r [p->mid + x];
        p->r [p->mid + x] = t;
    }
}

/*  Where to cut records [0, n) (buckets filled, their starts not marked yet) into two parts
    of about the same size that sort apart: at a bucket's start if one is near the middle, else
    inside the bucket across it, once its records with k below a pivot are before the others
    (a cut between different k is a cut between groups, whatever the sort makes of them
    after). At 6 M groups nearly all have count 1: that bucket is the table. Each half of it
    is partitioned on its own, then the two middle runs are swapped, half by each part. */
static size_t
s_cut (s_sorter_t *s, s_rec_t *r, size_t n, tl_agg_run_fn *run, void *ctx)
{
    size_t mid = n / 2, a = 0, e = 0;
    for (size_t b = 0; b <= S_CDIRECT && e <= mid; b++) {
        a = e;
        e += s->hist [b];
    }
    if (mid - a <= n / 16)
        return a;
    if (e - mid <= n / 16)
        return e;
    s_part_t *p = s->part;
    void *args [S_NPART] = { &p [0], &p [1] };
    uint64_t pivot = s_pivot (r + a, e - a, mid - a);
    p [0].lo = a;
    p [0].hi = p [1].lo = a + (e - a) / 2;
    p [1].hi = e;
    p [0].pivot = p [1].pivot = pivot;
    run (ctx, s_partition, args, S_NPART);
    /* [p0.mid, p1.lo) are not below the pivot, [p1.lo, p1.mid) are: swap the shorter run with
       the far end of the longer. */
    size_t x = p [1].lo - p [0].mid, y = p [1].mid - p [1].lo, w = x < y ? x : y;
    size_t cut = p [0].mid + y, at = p [0].mid, from = p [1].mid - w;
    p [0].lo = at;
    p [0].hi = p [1].lo = at + w / 2;
    p [1].hi = at + w;
    p [0].mid = from;
    p [1].mid = from + w / 2;
    run (ctx, s_swap, args, S_NPART);
    return cut;
}

static void
s_run_seq (void *ctx, void (*work) (void *arg), void **args, size_t n)
{
    for (size_t i = 0; i < n; i++)
        work (args [i]);
}

/*  Fill r [0..n) with the groups in the output order: count descending, then key bytes
    ascending, a key before its extensions (zero padding, then the length, decides that).
    Counts below S_CDIRECT are bucketed in one pass in the table's order, reading each key once
    in sequence for its first 8 varying bytes; the bigger counts are sorted (s_sort_part). No
    memory but r's is used. With a runner (run not NULL) each step is cut in two parts run at
    once: the passes over the entries by halves of the table, the sort by halves of the
    records (s_cut). The records come out the same: the sort is by a total order, and a part's
    records are bucketed, grouped and given their keys as by one pass. */
static void
s_order_recs (s_sorter_t *s, s_rec_t *r, size_t n, tl_agg_run_fn *run, void *ctx)
{
    size_t nparts = run ? S_NPART : 1;
    void *args [S_NPART];
    if (!run)
        run = s_run_seq;
    for (size_t t = 0; t < nparts; t++) {
        s->part [t] = (s_part_t) { .s = s, .r = r, .lo = n * t / nparts, .hi = n * (t + 1) / nparts };
        args [t] = &s->part [t];
    }
    run (ctx, s_scan, args, nparts);
    s_fields (s, nparts);
    run (ctx, s_fill, args, nparts);
    /* Every bucket starts a group, and so does the cut (marked after it: it moves records);
       the big counts are sorted into groups of one count. */
    size_t cut = nparts > 1 ? s_cut (s, r, n, run, ctx) : n;
    for (size_t b = 0, a = 0; b <= S_CDIRECT; a += s->hist [b], b++)
        if (s->hist [b])
            r [a].len |= S_START;
    if (cut < n)
        r [cut].len |= S_START;
    for (size_t t = 0; t < nparts; t++) {
        s_part_t *p = &s->part [t];
        p->lo = t ? cut : 0;
        p->hi = t + 1 < nparts ? cut : n;
        p->nb0 = s->hist [0] > p->lo ? (s->hist [0] < p->hi ? s->hist [0] : p->hi) - p->lo : 0;
    }
    run (ctx, s_sort_part, args, nparts);
}

/*  Sort r [0..n) (filled in by s_order_recs), then write the order as (len << 32 | index) into
    the buffer's last 8n bytes of 32n and return it. The callers gather entries into the
    buffer's start in order, prefetching ahead (random reads, in-order writes): entry j ends at
    byte 32 (j + 1) and order j sits at 24 n + 8 j, so every order word is read before an
    entry's write reaches it. The length travels with the index so that the gather does not
    touch the key (one cache miss fewer per group: the renderer reads it anyway). */
static uint64_t *
s_sort_recs (s_sorter_t *s, s_rec_t *r, size_t n)
{
    s_order_recs (s, r, n, NULL, NULL);
    uint64_t *perm = (uint64_t *) (void *) ((char *) r + 2 * n * sizeof *r) - n;
    for (size_t j = 0; j < n; j++)
        perm [j] = (uint64_t) (r [j].len & ~S_START) << 32 | r [j].i;
    return perm;
}

void
tl_agg_sort_entries (tl_agg_entry_t *v, size_t n)
{
    if (n < 2)
        return;
    /* One buffer of 2n records: the records, the order, and afterwards the sorted entries
       themselves (2 records are 32 bytes, an entry's size on LP64). */
    _Static_assert (2 * sizeof (s_rec_t) >= sizeof (tl_agg_entry_t), "an entry fits in two records");
    bool fits = n <= UINT32_MAX / 2;
    for (size_t i = 0; i < n && fits; i++)
        fits = v [i].len <= TL_AGG_KEY_MAX;     /* the sorter's position list covers that much */
    s_rec_t *r = fits ? s_big_malloc (2 * n * sizeof *r) : NULL;
    s_sorter_t *s = r ? malloc (sizeof *s) : NULL;
    if (!s) {
        /* No room for the radix sort's records (or keys too long for it): sort in place, slower. */
        free (r);
        qsort (v, n, sizeof *v, s_cmp);
        return;
    }
    *s = (s_sorter_t) { .v = v };
    uint64_t *perm = s_sort_recs (s, r, n);
    tl_agg_entry_t *out = (tl_agg_entry_t *) (void *) r;
    for (size_t j = 0; j < n; j++) {
        if (j + 16 < n)
            __builtin_prefetch (&v [(uint32_t) perm [j + 16]]);
        tl_agg_entry_t x = v [(uint32_t) perm [j]];
        memcpy (&out [j], &x, sizeof x);
    }
    memcpy (v, out, n * sizeof *v);
    free (s);
    free (r);
}

tl_agg_entry_t *
tl_agg_entries_alloc (size_t n)
{
    if (n > SIZE_MAX / sizeof (tl_agg_entry_t) - 1)
        return NULL;
    return s_big_malloc ((n ? n : 1) * sizeof (tl_agg_entry_t));
}

/*  Sorting the table's own groups needs no memory but out's: out's n entries are the n
    records, then the order, then the sorted entries (as in tl_agg_sort_entries). */
void
tl_agg_sorted (const tl_agg_t *self, tl_agg_entry_t *out)
{
    s_flush (self);
    size_t n = self->size;
    s_sorter_t *s = NULL;
    if (sizeof (tl_agg_entry_t) < 2 * sizeof (s_rec_t) || n < 2 || n > UINT32_MAX / 2
        || !(s = malloc (sizeof *s))) {
        for (size_t i = 0; i < n; i++)
            s_entry (self, i, &out [i]);
        tl_agg_sort_entries (out, n);
        return;
    }
    *s = (s_sorter_t) { .agg = self };
    s_rec_t *r = (s_rec_t *) (void *) out;
    uint64_t *perm = s_sort_recs (s, r, n);
    free (s);
    for (size_t j = 0; j < n; j++) {
        if (j + 16 < n)
            __builtin_prefetch (s_ent (self, (uint32_t) perm [j + 16]));
        uint32_t i = (uint32_t) perm [j];
        const s_ent_t *x = s_ent (self, i);
        tl_agg_entry_t e = { .key = x->key, .len = (uint32_t) (perm [j] >> 32), .count = x->count,
                             .cells = self->ncells ? s_cells (self, i) : NULL };
        memcpy (&out [j], &e, sizeof e);
    }
}

/*  The order takes the index's place: after the adds the index is only needed for lookups.
    It holds 4/3 to 8/3 slots of 8 bytes per group; the records need 16. When they fit, they
    are sorted in its pages (resident already, where fresh ones cost a fault and zeroing each);
    when not, the index is freed before the records are allocated, so that the peak is the
    table without its index plus 16 bytes per group (at 6 M groups 40 MB under the table plus
    32-byte entries). The records then shrink to the order, 4 bytes per group, in place. */
/*  Seal the table and sort its groups into 16n bytes in the index's place (tl_agg_order's
    comment): the records in *r_p, s filled in (its hist and fields). */
static int
s_take (tl_agg_t *self, s_sorter_t *s, s_rec_t **r_p, tl_agg_run_fn *run, void *ctx)
{
    s_flush (self);
    size_t n = self->size;
    size_t need = (n ? n : 1) * sizeof (s_rec_t);
    void *mem = self->index;
    if (self->cap * sizeof (s_slot_t) < need) {
        /* Too small: give it back first, so that the peak is the table and the records, not
           the index too. (realloc would keep its pages, but moving a block of huge pages
           copied it whole, twice the memory for a moment.) */
        free (self->index);
        mem = s_big_malloc (need);
    }
    self->index = NULL;     /* sealed: no more adds or lookups */
    self->cap = 0;
    if (!mem)
        return TL_ENOMEM;
    s_rec_t *r = mem;
    *s = (s_sorter_t) { .agg = self };
    if (n > 1)
        s_order_recs (s, r, n, run, ctx);
    else if (n == 1) {
        r [0] = (s_rec_t) { 0, 0, s_klen (s_ent (self, 0)->key) };
        s->hist [s_bucket (s_ent (self, 0)->count)] = 1;
    }
    *r_p = r;
    return 0;
}

int
tl_agg_order (tl_agg_t *self, uint32_t **order_p)
{
    s_sorter_t *s = malloc (sizeof *s);
    s_rec_t *r;
    if (!s)
        return TL_ENOMEM;   /* the table is as it was */
    int rc = s_take (self, s, &r, NULL, NULL);
    free (s);
    if (rc)
        return rc;
    size_t n = self->size;
    uint32_t *order = (uint32_t *) (void *) r;
    for (size_t j = 0; j < n; j++)
        order [j] = r [j].i;
    uint32_t *shrunk = realloc (r, (n ? n : 1) * sizeof *order);
    *order_p = shrunk ? shrunk : order;
    return 0;
}

/*  The sorted groups as the renderer reads them. When every key has one length and all the
    positions where keys differ fit one sort key, a key is its sort key put back into a
    template (the bytes all keys share) and a count below S_CDIRECT is its bucket's, so the
    output reads the records in order and nothing else: no entry and no key of the table in
    output order, two or three cache misses per group fewer. Otherwise, and for the big
    counts, a group is read from the table. */
struct tl_agg_view {
    const tl_agg_t *agg;
    s_rec_t *r;
    size_t n;
    size_t start [S_CDIRECT + 2];   /* bucket b is records [start [b], start [b + 1]) */
    size_t hint;                    /* the bucket of the last record read */
    bool rebuild;
    uint32_t klen;
    size_t nf;
    char tmpl [TL_AGG_KEY_MAX];
    s_field_t f [TL_AGG_KEY_MAX];
};

int
tl_agg_view_new (tl_agg_t *self, tl_agg_view_t **view_p)
{
    return tl_agg_view_new_par (self, view_p, NULL, NULL);
}

int
tl_agg_view_new_par (tl_agg_t *self, tl_agg_view_t **view_p, tl_agg_run_fn *run, void *ctx)
{
    tl_agg_view_t *v = malloc (sizeof *v);
    s_sorter_t *s = v ? malloc (sizeof *s) : NULL;
    if (!s) {
        free (v);
        return TL_ENOMEM;   /* the table is as it was */
    }
    int rc = s_take (self, s, &v->r, run, ctx);
    if (rc) {
        free (s);
        free (v);
        return rc;
    }
    v->agg = self;
    v->n = self->size;
    v->hint = 0;
    v->start [0] = 0;
    for (size_t b = 0; b <= S_CDIRECT; b++)
        v->start [b + 1] = v->start [b] + s->hist [b];
    v->rebuild = v->n > 1 && s->nlev == 1 && s->minlen == s->maxlen;
    v->klen = s->maxlen;
    v->nf = s->lev [1];
    if (v->rebuild) {
        memcpy (v->tmpl, s_ent (self, 0)->key, v->klen);
        memcpy (v->f, s->f, v->nf * sizeof *v->f);
    }
    free (s);
    *view_p = v;
    return 0;
}

void
tl_agg_view_destroy (tl_agg_view_t **view_p)
{
    if (view_p && *view_p) {
        free ((*view_p)->r);
        free (*view_p);
        *view_p = NULL;
    }
}

size_t
tl_agg_view_size (const tl_agg_view_t *v)
{
    return v->n;
}

const tl_agg_t *
tl_agg_view_table (const tl_agg_view_t *v)
{
    return v->agg;
}

/*  The bucket of record j (records are read in order: the last one's, mostly). */
static inline size_t
s_view_bucket (tl_agg_view_t *v, size_t j)
{
    size_t b = v->hint;
    if (j >= v->start [b] && j < v->start [b + 1])
        return b;
    size_t lo = 0, hi = S_CDIRECT;     /* the last b with start [b] <= j */
    while (lo < hi) {
        size_t mid = (lo + hi + 1) / 2;
        if (v->start [mid] <= j)
            lo = mid;
        else
            hi = mid - 1;
    }
    return v->hint = lo;
}

void
tl_agg_view_at (tl_agg_view_t *v, size_t j, tl_agg_entry_t *e, char *buf)
{
    size_t b = s_view_bucket (v, j);
    uint32_t i = v->r [j].i;
    if (b == 0 || !v->rebuild) {
        s_entry (v->agg, i, e);
        return;
    }
    memcpy (buf, v->tmpl, v->klen);
    uint64_t k = v->r [j].k;
    for (size_t x = 0; x < v->nf; x++) {
        const s_field_t *f = &v->f [x];
        buf [f->pos] = (char) (((k >> f->shift) & ((1u << f->width) - 1)) + f->min);
    }
    e->key = buf;
    e->len = v->klen;
    e->count = S_CDIRECT - b;
    e->cells = v->agg->ncells ? s_cells (v->agg, i) : NULL;
}

uint64_t
tl_agg_key_bytes (const tl_agg_t *self)
{
    uint64_t n = 0;
    for (unsigned c = 0; c < self->nchunk; c++)
        n += self->chunk [c].len;
    return n;
}

size_t
tl_agg_view_keylen (const tl_agg_view_t *v)
{
    return v->rebuild ? v->klen : 0;
}

void
tl_agg_view_prefetch_ahead (const tl_agg_view_t *v, size_t j)
{
    if (j + 40 < v->n)
        tl_agg_view_prefetch (v, j + 40, false);
    if (j + 20 < v->n)
        tl_agg_view_prefetch (v, j + 20, true);
}

void
tl_agg_view_prefetch (const tl_agg_view_t *v, size_t j, bool key)
{
    if (v->rebuild && j >= v->start [1])
        return;     /* rebuilt from the record */
    const s_ent_t *x = s_ent (v->agg, v->r [j].i);
    if (!key)
        __builtin_prefetch (x);
    else {
        /* The key behind its length; how long it is would take the miss this avoids. */
        __builtin_prefetch (x->key - 2);
        __builtin_prefetch (x->key + 61);
    }
}

void
tl_agg_at (const tl_agg_t *self, size_t i, tl_agg_entry_t *e)
{
    s_entry (self, i, e);
}
