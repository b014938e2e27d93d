/*  thrift.c — the bounded Thrift compact protocol reader (see thrift.h).

    Everything funnels through s_byte and s_need, which check the end of the buffer; a failed
    check sets the sticky error and moves the cursor to the end, so later reads see an empty
    buffer and return zeroes. Skipping recurses through lists, sets, maps and structs with the
    same depth counter as the struct parsers use, so a hostile footer of nested lists cannot
    exhaust the stack. */
#include "lib/core/parquet/thrift.h"
#include <string.h>

void
tl_pq_tr_init (tl_pq_tr_t *tr, const uint8_t *buf, size_t len)
{
    tr->start = tr->p = buf;
    tr->end = buf + len;
    tr->depth = 0;
    tr->err = NULL;
    tr->err_at = 0;
    tr->truncated = false;
}

size_t
tl_pq_tr_pos (const tl_pq_tr_t *tr)
{
    return (size_t) (tr->p - tr->start);
}

void
tl_pq_tr_fail (tl_pq_tr_t *tr, const char *why)
{
    if (!tr->err) {
        tr->err = why;
        tr->err_at = tl_pq_tr_pos (tr);
    }
    tr->p = tr->end;
}

/*  The data ran out: a longer buffer might parse (a page header read from a probe of the chunk). */
static void
s_short (tl_pq_tr_t *tr, const char *why)
{
    if (!tr->err)
        tr->truncated = true;
    tl_pq_tr_fail (tr, why);
}

static bool
s_need (tl_pq_tr_t *tr, size_t n)
{
    if ((size_t) (tr->end - tr->p) >= n)
        return true;
    s_short (tr, "truncated thrift data");
    return false;
}

static uint8_t
s_byte (tl_pq_tr_t *tr)
{
    if (!s_need (tr, 1))
        return 0;
    return *tr->p++;
}

uint64_t
tl_pq_tr_uvarint (tl_pq_tr_t *tr)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 70; shift += 7) {
        if (tr->p >= tr->end) {
            s_short (tr, "truncated varint");
            return 0;
        }
        uint8_t b = *tr->p++;
        if (shift == 63 && (b & 0x7e)) {
            tl_pq_tr_fail (tr, "varint overflows 64 bits");
            return 0;
        }
        v |= (uint64_t) (b & 0x7f) << shift;
        if (!(b & 0x80))
            return v;
    }
    tl_pq_tr_fail (tr, "varint longer than 10 bytes");
    return 0;
}

int64_t
tl_pq_tr_i64 (tl_pq_tr_t *tr)
{
    uint64_t z = tl_pq_tr_uvarint (tr);
    return (int64_t) ((z >> 1) ^ (~(z & 1) + 1));
}

int32_t
tl_pq_tr_i32 (tl_pq_tr_t *tr)
{
    int64_t v = tl_pq_tr_i64 (tr);
    if (v < INT32_MIN || v > INT32_MAX) {
        tl_pq_tr_fail (tr, "i32 out of range");
        return 0;
    }
    return (int32_t) v;
}

int8_t
tl_pq_tr_i8 (tl_pq_tr_t *tr)
{
    return (int8_t) s_byte (tr);
}

double
tl_pq_tr_double (tl_pq_tr_t *tr)
{
    double d = 0;
    if (!s_need (tr, 8))
        return 0;
    uint64_t u = 0;
    for (int i = 7; i >= 0; i--)
        u = u << 8 | tr->p [i];
    memcpy (&d, &u, 8);
    tr->p += 8;
    return d;
}

void
tl_pq_tr_binary (tl_pq_tr_t *tr, const uint8_t **p, size_t *len)
{
    uint64_t n = tl_pq_tr_uvarint (tr);
    *p = tr->p;
    *len = 0;
    if (tr->err)
        return;
    if (n > (uint64_t) (tr->end - tr->p)) {
        s_short (tr, "binary length past the end of the data");
        return;
    }
    *len = (size_t) n;
    tr->p += n;
}

bool
tl_pq_tr_bool_elem (tl_pq_tr_t *tr)
{
    return s_byte (tr) == 1;
}

bool
tl_pq_tr_bool_field (tl_pq_tr_t *tr, int type)
{
    (void) tr;
    return type == TL_PQ_T_TRUE;
}

void
tl_pq_tr_list (tl_pq_tr_t *tr, int *elem_type, uint32_t *n)
{
    uint8_t h = s_byte (tr);
    uint64_t size = h >> 4;
    *elem_type = h & 0x0f;
    *n = 0;
    if (size == 15)
        size = tl_pq_tr_uvarint (tr);
    if (tr->err)
        return;
    /*  Every element takes at least one byte, so a count above the bytes left is a lie (or,
        in a buffer cut short, a sign that it needs more bytes). */
    if (size > INT32_MAX) {
        tl_pq_tr_fail (tr, "list size past the end of the data");
        return;
    }
    if (size > (uint64_t) (tr->end - tr->p)) {
        s_short (tr, "list size past the end of the data");
        return;
    }
    *n = (uint32_t) size;
}

bool
tl_pq_tr_struct_begin (tl_pq_tr_t *tr)
{
    if (tr->depth >= TL_PQ_TR_MAX_DEPTH) {
        tl_pq_tr_fail (tr, "thrift nesting too deep");
        return false;
    }
    tr->depth++;
    return !tr->err;
}

void
tl_pq_tr_struct_end (tl_pq_tr_t *tr)
{
    if (tr->depth > 0)
        tr->depth--;
}

int
tl_pq_tr_field (tl_pq_tr_t *tr, int16_t *id)
{
    if (tr->err)
        return TL_PQ_T_STOP;
    uint8_t h = s_byte (tr);
    int type = h & 0x0f;
    if (type == TL_PQ_T_STOP)
        return TL_PQ_T_STOP;
    int delta = h >> 4;
    if (delta)
        *id = (int16_t) (*id + delta);
    else {
        int64_t v = tl_pq_tr_i64 (tr);
        if (v < INT16_MIN || v > INT16_MAX) {
            tl_pq_tr_fail (tr, "field id out of range");
            return TL_PQ_T_STOP;
        }
        *id = (int16_t) v;
    }
    if (type > TL_PQ_T_UUID) {
        tl_pq_tr_fail (tr, "unknown thrift field type");
        return TL_PQ_T_STOP;
    }
    return tr->err ? TL_PQ_T_STOP : type;
}

static void s_skip (tl_pq_tr_t *tr, int type, bool elem);

static void
s_skip_list (tl_pq_tr_t *tr)
{
    int et;
    uint32_t n;
    tl_pq_tr_list (tr, &et, &n);
    for (uint32_t i = 0; i < n && !tr->err; i++)
        s_skip (tr, et, true);
}

static void
s_skip_map (tl_pq_tr_t *tr)
{
    uint64_t n = tl_pq_tr_uvarint (tr);
    if (n == 0 || tr->err)
        return;
    uint8_t kv = s_byte (tr);
    if (n > (uint64_t) (tr->end - tr->p)) {
        s_short (tr, "map size past the end of the data");
        return;
    }
    for (uint64_t i = 0; i < n && !tr->err; i++) {
        s_skip (tr, kv >> 4, true);
        s_skip (tr, kv & 0x0f, true);
    }
}

static void
s_skip (tl_pq_tr_t *tr, int type, bool elem)
{
    const uint8_t *p;
    size_t len;
    if (tr->err)
        return;
    switch (type) {
        case TL_PQ_T_TRUE: case TL_PQ_T_FALSE:
            if (elem)           /* in a list a boolean is one byte; in a struct, none */
                s_byte (tr);
            break;
        case TL_PQ_T_I8: s_byte (tr); break;
        case TL_PQ_T_I16: case TL_PQ_T_I32: case TL_PQ_T_I64: tl_pq_tr_uvarint (tr); break;
        case TL_PQ_T_DOUBLE: if (s_need (tr, 8)) tr->p += 8; break;
        case TL_PQ_T_UUID: if (s_need (tr, 16)) tr->p += 16; break;
        case TL_PQ_T_BINARY: tl_pq_tr_binary (tr, &p, &len); break;
        case TL_PQ_T_LIST: case TL_PQ_T_SET:
            if (tl_pq_tr_struct_begin (tr)) {
                s_skip_list (tr);
                tl_pq_tr_struct_end (tr);
            }
            break;
        case TL_PQ_T_MAP:
            if (tl_pq_tr_struct_begin (tr)) {
                s_skip_map (tr);
                tl_pq_tr_struct_end (tr);
            }
            break;
        case TL_PQ_T_STRUCT:
            if (tl_pq_tr_struct_begin (tr)) {
                int16_t id = 0;
                int t;
                while ((t = tl_pq_tr_field (tr, &id)) != TL_PQ_T_STOP)
                    s_skip (tr, t, false);
                tl_pq_tr_struct_end (tr);
            }
            break;
        default:
            tl_pq_tr_fail (tr, "unknown thrift type");
    }
}

void
tl_pq_tr_skip (tl_pq_tr_t *tr, int type)
{
    s_skip (tr, type, false);
}
