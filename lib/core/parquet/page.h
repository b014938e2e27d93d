/*  page.h — Parquet page headers and page decompression.

    tl_pq_page_header parses one PageHeader (Thrift) from the front of a buffer and checks its
    sizes against each other; the caller checks compressed_size against the bytes it has.
    tl_pq_decompress inflates one page body with its codec into a buffer of exactly the size
    the header promised: a page that inflates to more or fewer bytes is an error, so a
    decompression bomb costs at most the (capped) size the caller allocated. Codecs:
    UNCOMPRESSED, SNAPPY, GZIP (several members), ZSTD, LZ4_RAW, BROTLI and the deprecated LZ4
    (Hadoop framing, falling back to a raw LZ4 block as some writers wrote). LZO is refused.
    Pure. */
#ifndef TL_PQ_PAGE_H
#define TL_PQ_PAGE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { TL_PQ_DATA_PAGE = 0, TL_PQ_INDEX_PAGE = 1, TL_PQ_DICTIONARY_PAGE = 2, TL_PQ_DATA_PAGE_V2 = 3 };

typedef struct {
    int type;
    int32_t uncompressed_size, compressed_size;
    bool has_crc;
    uint32_t crc;
    int32_t num_values;         /* data pages and dictionary pages */
    int encoding;               /* values (data) or dictionary entries */
    int def_encoding, rep_encoding;     /* v1 */
    int32_t num_nulls, num_rows, def_len, rep_len;  /* v2 */
    bool is_compressed;         /* v2 (defaults to true) */
    size_t header_len;          /* bytes of the Thrift header */
    bool truncated;             /* on TL_EPROTO: the header ran past len, so more bytes may parse */
} tl_pq_page_t;

/*  Parse the page header at buf. Returns 0 or TL_EPROTO with *why (static text) and
    h->truncated telling a header cut short by len from a malformed one. */
int tl_pq_page_header (const uint8_t *buf, size_t len, tl_pq_page_t *h, const char **why);

/*  Decompress src[0..n) with codec into dst, which must come out exactly dst_len bytes long.
    *ctx (may be NULL) keeps a decoder context between calls (ZSTD's, which is costly to set
    up per page); release it with tl_pq_decompress_end. Returns 0, TL_EPROTO (corrupt; *why),
    TL_EINVAL (codec not supported) or TL_ENOMEM. */
int tl_pq_decompress (int codec, const uint8_t *src, size_t n, uint8_t *dst, size_t dst_len,
                      void **ctx, const char **why);
void tl_pq_decompress_end (void **ctx);
#endif
