/*  thrift.h — a bounded reader for the Thrift compact protocol, the encoding of Parquet's
    footer (FileMetaData) and page headers.

    A reader walks a byte range and never looks past its end. Errors are sticky: after the
    first malformed byte every call returns zero values and tl_pq_tr_t.err stays set, so a
    struct parser can read field after field and check the error once at the end. Nesting is
    bounded (TL_PQ_TR_MAX_DEPTH), every length and list size is checked against the bytes that
    remain before it is used (each element takes at least one byte), and unknown fields of any
    type are skipped, so files written against a newer parquet.thrift still read. Pure: no
    allocation, no I/O. */
#ifndef TL_PQ_THRIFT_H
#define TL_PQ_THRIFT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TL_PQ_TR_MAX_DEPTH 64

/*  Compact protocol field/element types. */
enum {
    TL_PQ_T_STOP = 0, TL_PQ_T_TRUE = 1, TL_PQ_T_FALSE = 2, TL_PQ_T_I8 = 3, TL_PQ_T_I16 = 4,
    TL_PQ_T_I32 = 5, TL_PQ_T_I64 = 6, TL_PQ_T_DOUBLE = 7, TL_PQ_T_BINARY = 8, TL_PQ_T_LIST = 9,
    TL_PQ_T_SET = 10, TL_PQ_T_MAP = 11, TL_PQ_T_STRUCT = 12, TL_PQ_T_UUID = 13,
};

typedef struct {
    const uint8_t *p, *end, *start;
    int depth;
    const char *err;        /* NULL, or what went wrong first (static text) */
    size_t err_at;          /* byte offset of the error */
    bool truncated;         /* the error is that the data ran out: more bytes might parse */
} tl_pq_tr_t;

void tl_pq_tr_init (tl_pq_tr_t *tr, const uint8_t *buf, size_t len);
/*  Bytes consumed so far. */
size_t tl_pq_tr_pos (const tl_pq_tr_t *tr);
/*  Mark the reader failed (keeps the first reason). */
void tl_pq_tr_fail (tl_pq_tr_t *tr, const char *why);

/*  Struct framing. begin/end bound the depth; field reads the next field header. *id carries
    the previous field id in and the new one out (start a struct with *id = 0). Returns the
    field type, TL_PQ_T_STOP at the end of the struct or on error. For boolean fields the value
    is the type itself (TL_PQ_T_TRUE / TL_PQ_T_FALSE): read it with tl_pq_tr_bool_field. */
bool tl_pq_tr_struct_begin (tl_pq_tr_t *tr);
void tl_pq_tr_struct_end (tl_pq_tr_t *tr);
int tl_pq_tr_field (tl_pq_tr_t *tr, int16_t *id);

/*  Values. Integers are zigzag varints; i32/i16 fail when the value does not fit. */
int64_t tl_pq_tr_i64 (tl_pq_tr_t *tr);
int32_t tl_pq_tr_i32 (tl_pq_tr_t *tr);
int8_t tl_pq_tr_i8 (tl_pq_tr_t *tr);
double tl_pq_tr_double (tl_pq_tr_t *tr);
uint64_t tl_pq_tr_uvarint (tl_pq_tr_t *tr);
/*  A binary/string: *p points into the buffer (borrowed). */
void tl_pq_tr_binary (tl_pq_tr_t *tr, const uint8_t **p, size_t *len);
/*  A boolean inside a list (one byte). */
bool tl_pq_tr_bool_elem (tl_pq_tr_t *tr);
/*  Boolean field value from its field type. */
bool tl_pq_tr_bool_field (tl_pq_tr_t *tr, int type);
/*  List/set header: element type and count (count ≤ bytes left, checked). */
void tl_pq_tr_list (tl_pq_tr_t *tr, int *elem_type, uint32_t *n);
/*  Skip a value of the given field or element type, recursing at most to the depth bound. */
void tl_pq_tr_skip (tl_pq_tr_t *tr, int type);
#endif
