/*  The codec: every message round-trips, and hostile frames are refused without crashing
    or allocating what a header claims. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <msgpack.h>
#include <stdlib.h>
#include <string.h>
#include "lib/wire/codec.h"
#include "lib/wire/token.h"

static void
test_roundtrip_partial (void **state)
{
    (void) state;
    tl_agg_entry_t g [] = { { "1", 1, 100, NULL }, { "", 0, 7, NULL }, { "a\0b", 3, 1, NULL } };
    tl_msg_t m = { .type = TL_MSG_PARTIAL, .job = "j1", .task = 42, .attempt = 2, .mapper = "m", .offset = 5,
                   .length = 999, .rows = 108, .bytes = 999, .bad = 3, .blank = 1, .groups = g, .n_groups = 3 };
    char *data;
    size_t len;
    assert_int_equal (tl_msg_encode (&m, &data, &len), 0);
    tl_msg_t d;
    tl_err_t e;
    assert_int_equal (tl_msg_decode (data, len, &d, &e), 0);
    assert_int_equal (d.type, TL_MSG_PARTIAL);
    assert_string_equal (d.job, "j1");
    assert_int_equal (d.task, 42);
    assert_int_equal (d.attempt, 2);
    assert_int_equal (d.rows, 108);
    assert_int_equal (d.n_groups, 3);
    assert_int_equal (d.groups [2].len, 3);
    assert_memory_equal (d.groups [2].key, "a\0b", 3);
    assert_int_equal (d.groups [1].count, 7);
    tl_msg_clear (&d);
    free (data);
}

static void
test_roundtrip_all (void **state)
{
    (void) state;
    tl_running_t run [] = { { 1, 1, 500 } };
    uint64_t ids [] = { 1, 5, 9 };
    tl_mapper_stat_t ms [] = { { "m1", 3 } };
    tl_msg_t msgs [] = {
        { .type = TL_MSG_HELLO, .name = "n", .slots = 4 },
        { .type = TL_MSG_HB, .running = run, .n_running = 1 },
        { .type = TL_MSG_DONE, .task = 1, .attempt = 1, .rows = 2, .bytes = 3, .bad = 0 },
        { .type = TL_MSG_FAIL, .task = 1, .attempt = 1, .retry = true, .error = "boom" },
        { .type = TL_MSG_BYE },
        { .type = TL_MSG_WELCOME, .job = "j", .reducer = "tcp://x:1", .hb_ms = 1000 },
        { .type = TL_MSG_TASK, .job = "j", .task = 7, .attempt = 1, .uri = "s3://b/trip data/k.csv", .offset = 0,
          .length = 10, .size = 10, .col = "passenger_count", .endpoint = "", .nosign = true, .region = "",
          .token = "0123456789abcdef0123456789abcdef", .etag = "\"e1\"", .mtime = 77, .verify = 3 },
        { .type = TL_MSG_CANCEL, .task = 3 },
        { .type = TL_MSG_RESET },
        { .type = TL_MSG_END, .job = "j", .ok = false, .error = "x" },
        { .type = TL_MSG_JOB, .job = "j", .col = "c", .tasks = 10, .bytes = 100, .fingerprint = "f", .key = "k",
          .noverify = true },
        { .type = TL_MSG_REFUSED, .job = "j", .current = "other", .error = "busy" },
        { .type = TL_MSG_VERIFIED, .job = "j", .task = 3, .verify = 4, .ok = false, .mapper = "a", .name = "b",
          .error = "differs" },
        { .type = TL_MSG_APPLIED, .job = "j", .ids = ids, .n_ids = 3, .lengths = ids, .n_lengths = 3, .full = true,
          .instance = "r1", .answers = true },
        { .type = TL_MSG_STEAL, .task = 4, .attempt = 2, .keep = 500 },
        { .type = TL_MSG_CUT, .task = 4, .attempt = 2, .cut = 123456 },
        { .type = TL_MSG_UPDATE, .seq = 9, .job = "j", .col = "c", .done = true, .ok = true, .tasks_done = 1,
          .tasks_total = 1, .rows = 1, .bytes = 1, .bytes_total = 1, .bad = 0, .elapsed_ms = 5, .error = "",
          .mappers = ms, .n_mappers = 1 },
    };
    for (size_t i = 0; i < sizeof msgs / sizeof *msgs; i++) {
        char *data;
        size_t len;
        assert_int_equal (tl_msg_encode (&msgs [i], &data, &len), 0);
        tl_msg_t d;
        tl_err_t e;
        assert_int_equal (tl_msg_decode (data, len, &d, &e), 0);
        assert_int_equal (d.type, msgs [i].type);
        if (d.type == TL_MSG_TASK) {
            assert_string_equal (d.uri, "s3://b/trip data/k.csv");
            assert_true (d.nosign);
            assert_string_equal (d.token, "0123456789abcdef0123456789abcdef");
            assert_string_equal (d.etag, "\"e1\"");
            assert_int_equal (d.mtime, 77);
            assert_int_equal (d.verify, 3);
        }
        if (d.type == TL_MSG_REFUSED)
            assert_string_equal (d.current, "other");
        if (d.type == TL_MSG_JOB)
            assert_true (d.noverify);
        if (d.type == TL_MSG_APPLIED) {
            assert_int_equal (d.n_ids, 3);
            assert_int_equal (d.ids [2], 9);
            assert_int_equal (d.lengths [1], 5);
            assert_string_equal (d.instance, "r1");
            assert_true (d.answers);
        }
        if (d.type == TL_MSG_CUT)
            assert_int_equal (d.cut, 123456);
        if (d.type == TL_MSG_HB)
            assert_int_equal (d.running [0].bytes_done, 500);
        if (d.type == TL_MSG_UPDATE)
            assert_string_equal (d.mappers [0].name, "m1");
        tl_msg_clear (&d);
        free (data);
    }
}

/*  Batches: TASKS and DONES round-trip item by item, `batch` is optional in HELLO and WELCOME
    (absent when 0, as from a peer before batches), and a batch must hold 1 to TL_BATCH_MAX
    items of the right width and types. */
static void
test_batches (void **state)
{
    (void) state;
    tl_assign_t as [] = {
        { .task = 7, .attempt = 1, .uri = "s3://b/k.csv", .offset = 0, .length = 4096, .size = 1 << 20,
          .token = "0123456789abcdef0123456789abcdef", .etag = "\"e\"", .mtime = 5, .verify = 0, .format = "csv" },
        { .task = 9, .attempt = 3, .uri = "file:///d/a b.csv", .offset = 4096, .length = 4096, .size = 1 << 20,
          .token = "fedcba9876543210fedcba9876543210", .etag = "", .mtime = 0, .verify = 8, .format = "" },
    };
    tl_done_t ds [] = { { 7, 1, 30, 4096, 1 }, { 9, 3, 31, 4000, 0 }, { 11, 1, 0, 0, 0 } };
    tl_msg_t ms [] = {
        { .type = TL_MSG_TASKS, .job = "j", .col = "passenger_count", .endpoint = "http://e", .nosign = true,
          .region = "r", .assigns = as, .n_assigns = 2 },
        { .type = TL_MSG_DONES, .dones = ds, .n_dones = 3 },
        { .type = TL_MSG_HELLO, .name = "n", .slots = 2, .batch = 256 },
        { .type = TL_MSG_WELCOME, .job = "j", .reducer = "ipc://r", .hb_ms = 1000, .batch = 256 },
        { .type = TL_MSG_HELLO, .name = "n", .slots = 2 },
    };
    for (size_t i = 0; i < sizeof ms / sizeof *ms; i++) {
        char *data;
        size_t len;
        assert_int_equal (tl_msg_encode (&ms [i], &data, &len), 0);
        tl_msg_t d;
        tl_err_t e;
        assert_int_equal (tl_msg_decode (data, len, &d, &e), 0);
        assert_int_equal (d.type, ms [i].type);
        assert_int_equal (d.batch, ms [i].batch);
        if (i == 4)
            assert_null (memmem (data, len, "batch", 5));     /* 0: the field is left out */
        if (d.type == TL_MSG_TASKS) {
            assert_string_equal (d.job, "j");
            assert_string_equal (d.col, "passenger_count");
            assert_string_equal (d.endpoint, "http://e");
            assert_true (d.nosign);
            assert_int_equal (d.n_assigns, 2);
            for (size_t k = 0; k < 2; k++) {
                assert_int_equal (d.assigns [k].task, as [k].task);
                assert_int_equal (d.assigns [k].attempt, as [k].attempt);
                assert_int_equal (d.assigns [k].offset, as [k].offset);
                assert_int_equal (d.assigns [k].length, as [k].length);
                assert_int_equal (d.assigns [k].size, as [k].size);
                assert_int_equal (d.assigns [k].mtime, as [k].mtime);
                assert_int_equal (d.assigns [k].verify, as [k].verify);
                assert_string_equal (d.assigns [k].uri, as [k].uri);
                assert_string_equal (d.assigns [k].token, as [k].token);
                assert_string_equal (d.assigns [k].etag, as [k].etag);
                assert_string_equal (d.assigns [k].format, as [k].format);
            }
        }
        if (d.type == TL_MSG_DONES) {
            assert_int_equal (d.n_dones, 3);
            for (size_t k = 0; k < 3; k++)
                assert_memory_equal (&d.dones [k], &ds [k], sizeof ds [k]);
        }
        tl_msg_clear (&d);
        free (data);
    }
    /* Refused: an empty batch, one over TL_BATCH_MAX, an item of the wrong width or type. */
    msgpack_sbuffer sb;
    msgpack_packer pk;
    for (int bad = 0; bad < 4; bad++) {
        msgpack_sbuffer_init (&sb);
        msgpack_packer_init (&pk, &sb, msgpack_sbuffer_write);
        msgpack_pack_map (&pk, 3);
        msgpack_pack_str (&pk, 1), msgpack_pack_str_body (&pk, "v", 1), msgpack_pack_uint64 (&pk, TL_PROTO_VERSION);
        msgpack_pack_str (&pk, 1), msgpack_pack_str_body (&pk, "t", 1);
        msgpack_pack_str (&pk, 5), msgpack_pack_str_body (&pk, "dones", 5);
        msgpack_pack_str (&pk, 4), msgpack_pack_str_body (&pk, "done", 4);
        size_t n = bad == 0 ? 0 : bad == 1 ? TL_BATCH_MAX + 1 : 1;
        msgpack_pack_array (&pk, n);
        for (size_t k = 0; k < n; k++) {
            msgpack_pack_array (&pk, bad == 2 ? 4 : 5);
            for (int f = 0; f < (bad == 2 ? 4 : 5); f++)
                if (bad == 3 && f == 1)
                    msgpack_pack_str (&pk, 1), msgpack_pack_str_body (&pk, "x", 1);
                else
                    msgpack_pack_uint64 (&pk, (uint64_t) f);
        }
        tl_msg_t d;
        tl_err_t e;
        assert_int_not_equal (tl_msg_decode (sb.data, sb.size, &d, &e), 0);
        assert_null (d.arena_);
        msgpack_sbuffer_destroy (&sb);
    }
}

static int
s_decode_bytes (const void *p, size_t n)
{
    tl_msg_t d;
    tl_err_t e;
    int rc = tl_msg_decode (p, n, &d, &e);
    tl_msg_clear (&d);
    return rc;
}

/*  A PARTIAL in parts carries part and parts; a whole one neither; a decoded part is a part. */
static void
test_partial_parts (void **state)
{
    (void) state;
    tl_agg_entry_t g [] = { { "k", 1, 3, NULL } };
    tl_msg_t m = { .type = TL_MSG_PARTIAL, .job = "j", .task = 4, .attempt = 1, .mapper = "m", .length = 9, .rows = 3,
                   .bytes = 9, .groups = g, .n_groups = 1, .token = "t" };
    char *data;
    size_t len;
    tl_msg_t d;
    tl_err_t e;
    /* Whole: no part fields on the wire, parts 0 decoded. */
    assert_int_equal (tl_msg_encode (&m, &data, &len), 0);
    assert_null (memmem (data, len, "parts", 5));
    assert_int_equal (tl_msg_decode (data, len, &d, &e), 0);
    assert_int_equal (d.parts, 0);
    tl_msg_clear (&d);
    free (data);
    /* Part 2 of 3. */
    m.part = 2;
    m.parts = 3;
    assert_int_equal (tl_msg_encode (&m, &data, &len), 0);
    assert_int_equal (tl_msg_decode (data, len, &d, &e), 0);
    assert_int_equal (d.part, 2);
    assert_int_equal (d.parts, 3);
    tl_msg_clear (&d);
    free (data);
    /* Not parts: 0 of 3, 4 of 3, 0 of 0; and only one of the two fields. */
    uint64_t bad [][2] = { { 0, 3 }, { 4, 3 }, { 0, 0 } };
    for (size_t i = 0; i < 3; i++) {
        m.part = bad [i][0];
        m.parts = bad [i][1] ? bad [i][1] : 1;
        assert_int_equal (tl_msg_encode (&m, &data, &len), 0);
        if (bad [i][1] == 0) {      /* "parts": 1 -> 0 in place */
            char *p = memmem (data, len, "parts", 5);
            assert_non_null (p);
            assert_int_equal (p [5], 1);
            p [5] = 0;
        }
        assert_int_equal (tl_msg_decode (data, len, &d, &e), TL_EPROTO);
        free (data);
    }
    m.part = 1;
    m.parts = 2;
    assert_int_equal (tl_msg_encode (&m, &data, &len), 0);
    char *p = memmem (data, len, "\xa5parts", 6);
    assert_non_null (p);
    memcpy (p + 1, "xarts", 5);     /* an unknown key: part without parts */
    assert_int_equal (tl_msg_decode (data, len, &d, &e), TL_EPROTO);
    free (data);
}

/*  tl_msg_group_bound bounds what a group takes: a message's groups never pass their sum. */
static void
test_group_bound (void **state)
{
    (void) state;
    enum { N = 300 };
    static char keys [N][1024];
    static tl_agg_entry_t g [N];
    static tl_cell_t cells [N][3];
    for (unsigned nc = 0; nc <= 3; nc += 3) {
        size_t bound = 0;
        for (size_t i = 0; i < N; i++) {
            size_t len = (i * 37) % 1025;
            memset (keys [i], 'a' + (int) (i % 26), sizeof keys [i]);
            for (unsigned c = 0; c < 3; c++)
                cells [i][c] = (tl_cell_t) { .n = UINT64_MAX, .bad = UINT64_MAX, .sum = 1e300, .min = -1e-300, .max = 0.1 };
            g [i] = (tl_agg_entry_t) { keys [i], (uint32_t) (len > 1024 ? 1024 : len), UINT64_MAX, nc ? cells [i] : NULL };
            bound += tl_msg_group_bound (g [i].len, nc);
        }
        tl_msg_t m = { .type = TL_MSG_PARTIAL, .job = "", .mapper = "", .token = "", .groups = g, .n_groups = N,
                       .ncells = nc };
        tl_msg_t empty = m;
        empty.n_groups = 0;
        char *data, *data0;
        size_t len, len0;
        assert_int_equal (tl_msg_encode (&m, &data, &len), 0);
        assert_int_equal (tl_msg_encode (&empty, &data0, &len0), 0);
        assert_true (len - len0 <= bound);
        free (data);
        free (data0);
    }
}

static void
test_hostile (void **state)
{
    (void) state;
    /* An array that claims 4 billion elements in 5 bytes. */
    const unsigned char huge [] = { 0xdd, 0xff, 0xff, 0xff, 0xff };
    assert_int_equal (tl_msgpack_check (huge, sizeof huge), TL_EPROTO);
    assert_int_equal (s_decode_bytes (huge, sizeof huge), TL_EPROTO);
    /* A map that claims 2^31 pairs. */
    const unsigned char hmap [] = { 0xdf, 0x7f, 0xff, 0xff, 0xff, 0xa1, 'v' };
    assert_int_equal (s_decode_bytes (hmap, sizeof hmap), TL_EPROTO);
    /* A str32 longer than the frame. */
    const unsigned char hstr [] = { 0x81, 0xa1, 't', 0xdb, 0x7f, 0xff, 0xff, 0xff, 'x' };
    assert_int_equal (s_decode_bytes (hstr, sizeof hstr), TL_EPROTO);
    /* Nesting 100 deep. */
    unsigned char deep [100];
    memset (deep, 0x91, sizeof deep);
    deep [99] = 0x01;
    assert_int_equal (s_decode_bytes (deep, sizeof deep), TL_EPROTO);
    /* The never-used byte, trailing garbage, empty frame, not a map. */
    const unsigned char c1 [] = { 0xc1 };
    assert_int_equal (s_decode_bytes (c1, 1), TL_EPROTO);
    assert_int_equal (s_decode_bytes ("", 0), TL_EPROTO);
    const unsigned char arr [] = { 0x90 };
    assert_int_equal (s_decode_bytes (arr, 1), TL_EPROTO);

    /* Well-formed msgpack with the wrong version, type, field types, or missing fields. */
    msgpack_sbuffer sb;
    msgpack_packer pk;
    struct { int v; const char *t; const char *field; int as_str; } cases [] = {
        { 3, "hello", "slots", 0 },     /* wrong version (this is protocol 4: a v3 replica would take a
                                           bare delta for "nothing changed") */
        { 2, "hello", "slots", 0 },     /* wrong version (a v2 reducer would take a partial's first
                                           part for the whole task) */
        { 5, "hello", "slots", 0 },     /* wrong version */
        { 4, "nosuch", "slots", 0 },    /* unknown type */
        { 4, "hello", "slots", 1 },     /* slots is a string */
        { 4, "hello", "other", 0 },     /* lacks slots */
    };
    /* APPLIED whose ids and lengths disagree in number. */
    uint64_t two [] = { 1, 2 };
    tl_msg_t bad = { .type = TL_MSG_APPLIED, .job = "j", .ids = two, .n_ids = 2, .lengths = two, .n_lengths = 1,
                     .instance = "i" };
    char *bd;
    size_t bl;
    assert_int_equal (tl_msg_encode (&bad, &bd, &bl), 0);
    assert_int_equal (s_decode_bytes (bd, bl), TL_EPROTO);
    free (bd);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        msgpack_sbuffer_init (&sb);
        msgpack_packer_init (&pk, &sb, msgpack_sbuffer_write);
        msgpack_pack_map (&pk, 4);
        msgpack_pack_str_with_body (&pk, "v", 1);
        msgpack_pack_uint64 (&pk, (uint64_t) cases [i].v);
        msgpack_pack_str_with_body (&pk, "t", 1);
        msgpack_pack_str_with_body (&pk, cases [i].t, strlen (cases [i].t));
        msgpack_pack_str_with_body (&pk, "name", 4);
        msgpack_pack_str_with_body (&pk, "n", 1);
        msgpack_pack_str_with_body (&pk, cases [i].field, strlen (cases [i].field));
        if (cases [i].as_str)
            msgpack_pack_str_with_body (&pk, "4", 1);
        else
            msgpack_pack_uint64 (&pk, 4);
        assert_int_equal (s_decode_bytes (sb.data, sb.size), TL_EPROTO);
        msgpack_sbuffer_destroy (&sb);
    }
}

static void
test_fuzz_mutations (void **state)
{
    (void) state;
    /* Every truncation and many random byte flips of a valid partial: never a crash. */
    tl_agg_entry_t g [] = { { "1", 1, 100, NULL }, { "2", 1, 7, NULL } };
    tl_msg_t m = { .type = TL_MSG_PARTIAL, .job = "j1", .task = 42, .attempt = 2, .mapper = "m",
                   .offset = 0, .length = 999, .rows = 108, .bytes = 999, .bad = 3, .groups = g, .n_groups = 2 };
    char *data;
    size_t len;
    assert_int_equal (tl_msg_encode (&m, &data, &len), 0);
    for (size_t n = 0; n < len; n++)
        assert_int_not_equal (s_decode_bytes (data, n), 0);
    srand (7);
    int ok = 0;
    char *copy = malloc (len);
    for (int i = 0; i < 20000; i++) {
        memcpy (copy, data, len);
        for (int k = 0; k < 1 + rand () % 4; k++)
            copy [rand () % len] = (char) (rand () & 0xff);
        ok += s_decode_bytes (copy, len) == 0;
    }
    assert_true (ok < 20000);
    free (copy);
    free (data);
}

/*  A PARTIAL whose `groups` value is the bytes g [0..n): a partial of one group ("Q", 1)
    encoded by tl_msg_encode, with that group's array spliced out. Decoded into *d. */
static int
s_partial_with_groups (const unsigned char *g, size_t n, tl_msg_t *d, tl_err_t *e)
{
    tl_agg_entry_t one [] = { { "Q", 1, 1, NULL } };
    tl_msg_t m = { .type = TL_MSG_PARTIAL, .job = "j1", .task = 4, .attempt = 1, .mapper = "m", .length = 9,
                   .rows = 1, .groups = one, .n_groups = 1 };
    char *data;
    size_t len;
    assert_int_equal (tl_msg_encode (&m, &data, &len), 0);
    const unsigned char was [] = { 0xa6, 'g', 'r', 'o', 'u', 'p', 's', 0x91, 0x92, 0xc4, 0x01, 'Q', 0x01 };
    unsigned char *at = memmem (data, len, was, sizeof was);
    assert_non_null (at);
    size_t head = (size_t) (at - (unsigned char *) data) + 7, tail = len - head - 6;
    unsigned char *out = malloc (head + n + tail);
    memcpy (out, data, head);
    memcpy (out + head, g, n);
    memcpy (out + head + n, data + head + 6, tail);
    /* Read by the tree first (the direct reading off), then as the codec reads it: the two
       must agree on the verdict and on every group. */
    tl_msg_t t;
    tl_err_t te;
    tl_codec_fast_groups (false);
    int trc = tl_msg_decode (out, head + n + tail, &t, &te);
    tl_codec_fast_groups (true);
    int rc = tl_msg_decode (out, head + n + tail, d, e);
    assert_int_equal (rc, trc);
    if (rc == 0) {
        assert_int_equal (d->n_groups, t.n_groups);
        for (size_t i = 0; i < d->n_groups; i++) {
            assert_int_equal (d->groups [i].len, t.groups [i].len);
            assert_memory_equal (d->groups [i].key, t.groups [i].key, t.groups [i].len);
            assert_int_equal (d->groups [i].count, t.groups [i].count);
        }
        tl_msg_clear (&t);
    }
    free (out);
    free (data);
    return rc;
}

/*  Groups in every encoding msgpack allows decode to the same entries, whether the plain
    encodings' direct reading takes them or the tree does; what either refuses stays refused. */
static void
test_group_encodings (void **state)
{
    (void) state;
    tl_msg_t d;
    tl_err_t e;
    /* Plain: fixstr, str8, bin8, str16, bin16 keys; fixint, uint8/16/32/64 counts. */
    const unsigned char plain [] = { 0x95,
        0x92, 0xa2, 'a', 'b', 0x05,
        0x92, 0xd9, 0x01, 'c', 0xcc, 0xc8,
        0x92, 0xc4, 0x00, 0xcd, 0x01, 0x00,
        0x92, 0xda, 0x00, 0x02, 'd', 0x00, 0xce, 0x00, 0x01, 0x00, 0x00,
        0x92, 0xc5, 0x00, 0x01, 'e', 0xcf, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00 };
    uint64_t direct = tl_codec_fast_groups_read ();
    assert_int_equal (s_partial_with_groups (plain, sizeof plain, &d, &e), 0);
    assert_int_equal (tl_codec_fast_groups_read (), direct + 1);     /* read straight from the bytes */
    assert_int_equal (d.n_groups, 5);
    const char *keys [] = { "ab", "c", "", "d\0", "e" };
    size_t lens [] = { 2, 1, 0, 2, 1 };
    uint64_t counts [] = { 5, 200, 256, 65536, (uint64_t) 1 << 56 };
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal (d.groups [i].len, lens [i]);
        assert_memory_equal (d.groups [i].key, keys [i], lens [i]);
        assert_int_equal (d.groups [i].key [lens [i]], 0);
        assert_int_equal (d.groups [i].count, counts [i]);
        assert_null (d.groups [i].cells);
    }
    assert_int_equal (d.ncells, 0);
    tl_msg_clear (&d);
    /* Not plain, still valid: a count as a signed int8, a key as str32 (the tree reads them). */
    const unsigned char other [] = { 0x92, 0x92, 0xa1, 'x', 0xd0, 0x07, 0x92, 0xdb, 0, 0, 0, 1, 'y', 0x03 };
    direct = tl_codec_fast_groups_read ();
    assert_int_equal (s_partial_with_groups (other, sizeof other, &d, &e), 0);
    assert_int_equal (tl_codec_fast_groups_read (), direct);         /* by the tree */
    assert_int_equal (d.n_groups, 2);
    assert_int_equal (d.groups [0].count, 7);
    assert_memory_equal (d.groups [1].key, "y", 1);
    assert_int_equal (d.groups [1].count, 3);
    tl_msg_clear (&d);
    /* A group with cells after a plain one: the tree reads them all. */
    const unsigned char cells [] = { 0x92, 0x92, 0xa1, 'x', 0x01,
        0x93, 0xa1, 'y', 0x02, 0x95, 0x02, 0x00, 0xcb, 0x40, 0x08, 0, 0, 0, 0, 0, 0, 0x01, 0x02 };
    assert_int_equal (s_partial_with_groups (cells, sizeof cells, &d, &e), TL_EPROTO);  /* items differ in cells */
    assert_non_null (strstr (e.msg, "differ in value cells"));
    /* Refused: a negative count, a key of TL_AGG_KEY_MAX + 1 bytes, a group of one item, groups
       cut short, groups not an array. */
    const unsigned char neg [] = { 0x91, 0x92, 0xa1, 'x', 0xff };
    assert_int_equal (s_partial_with_groups (neg, sizeof neg, &d, &e), TL_EPROTO);
    unsigned char longkey [4 + 4 + TL_AGG_KEY_MAX + 1 + 1] = { 0x91, 0x92, 0xc5, (TL_AGG_KEY_MAX + 1) >> 8,
                                                              (TL_AGG_KEY_MAX + 1) & 0xff };
    longkey [sizeof longkey - 1] = 0x01;
    assert_int_equal (s_partial_with_groups (longkey, 5 + TL_AGG_KEY_MAX + 1 + 1, &d, &e), TL_EPROTO);
    assert_non_null (strstr (e.msg, "groups"));
    const unsigned char single [] = { 0x91, 0x91, 0xa1, 'x' };
    assert_int_equal (s_partial_with_groups (single, sizeof single, &d, &e), TL_EPROTO);
    const unsigned char cut [] = { 0x92, 0x92, 0xa1, 'x', 0x01 };
    assert_int_equal (s_partial_with_groups (cut, sizeof cut, &d, &e), TL_EPROTO);
    const unsigned char str [] = { 0xa1, 'x' };
    assert_int_equal (s_partial_with_groups (str, sizeof str, &d, &e), TL_EPROTO);
    assert_non_null (strstr (e.msg, "not an array"));
    /* Many groups (more nodes than the decoder's first pool): all read, in order. */
    size_t n = 70000;
    tl_agg_entry_t *g = calloc (n, sizeof *g);
    char *kb = malloc (n * 8);
    for (size_t i = 0; i < n; i++) {
        g [i].len = (uint32_t) snprintf (kb + 8 * i, 8, "k%zu", i);
        g [i].key = kb + 8 * i;
        g [i].count = i * 977;
    }
    tl_msg_t big = { .type = TL_MSG_PARTIAL, .job = "j1", .task = 4, .attempt = 1, .mapper = "m", .length = 9,
                     .rows = 1, .groups = g, .n_groups = n };
    char *data;
    size_t len;
    assert_int_equal (tl_msg_encode (&big, &data, &len), 0);
    direct = tl_codec_fast_groups_read ();
    assert_int_equal (tl_msg_decode (data, len, &d, &e), 0);
    assert_int_equal (tl_codec_fast_groups_read (), direct + 1);
    assert_int_equal (d.n_groups, n);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal (d.groups [i].len, g [i].len);
        assert_memory_equal (d.groups [i].key, g [i].key, g [i].len);
        assert_int_equal (d.groups [i].count, g [i].count);
    }
    tl_msg_clear (&d);
    free (data);
    free (kb);
    free (g);
}

/*  A key made ready once gives exactly the tokens of the one-shot HMAC, for any claim, and
    checks them the same way; a changed key is seen as one. */
static void
test_token_mac (void **state)
{
    (void) state;
    uint8_t key [TL_TOKEN_KEY_LEN], other [TL_TOKEN_KEY_LEN];
    for (int i = 0; i < TL_TOKEN_KEY_LEN; i++)
        key [i] = (uint8_t) (i * 7 + 1), other [i] = (uint8_t) (i * 7 + 2);
    tl_token_mac_t *mac = tl_token_mac_new (key);
    assert_non_null (mac);
    assert_true (tl_token_mac_is (mac, key));
    assert_false (tl_token_mac_is (mac, other));
    assert_false (tl_token_mac_is (NULL, key));
    static char big [5000];
    memset (big, 'm', sizeof big - 1);
    const char *names [] = { "bench", "", "ip-10-0-0-1:4", big, NULL };
    for (int i = 0; i < 2000; i++) {
        tl_token_claim_t c = { .job = i % 7 ? "benchjob00000000" : NULL, .task = (uint64_t) i * 977, .attempt = 1 + i % 3,
                               .mapper = names [i % 5], .offset = (uint64_t) i << 12, .verify = i % 11 ? 0 : (uint64_t) i + 1 };
        char a [TL_TOKEN_HEX + 1], b [TL_TOKEN_HEX + 1];
        tl_token_make (key, &c, a);
        tl_token_mac_make (mac, &c, b);
        assert_string_equal (a, b);
        assert_true (tl_token_mac_check (mac, &c, a));
        assert_true (tl_token_check (key, &c, b));
        b [i % TL_TOKEN_HEX] = b [i % TL_TOKEN_HEX] == '0' ? '1' : '0';
        assert_false (tl_token_mac_check (mac, &c, b));
        b [TL_TOKEN_HEX - 1] = 0;
        assert_false (tl_token_mac_check (mac, &c, b));
        assert_false (tl_token_mac_check (mac, &c, NULL));
        tl_token_make (other, &c, b);
        assert_false (tl_token_mac_check (mac, &c, b));
    }
    tl_token_mac_destroy (&mac);
    assert_null (mac);
    tl_token_mac_destroy (&mac);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_roundtrip_partial), cmocka_unit_test (test_roundtrip_all),
        cmocka_unit_test (test_hostile),           cmocka_unit_test (test_fuzz_mutations),
        cmocka_unit_test (test_partial_parts),     cmocka_unit_test (test_group_bound),
        cmocka_unit_test (test_batches),          cmocka_unit_test (test_token_mac),
        cmocka_unit_test (test_group_encodings),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
