# tally's own Parquet reader (lib/core/parquet): a pure library, bytes in, values out.
# The writer (write.c, write_enc.c) makes tally gen --format parquet.
set (TL_PARQUET_SOURCES
    ${CMAKE_SOURCE_DIR}/lib/core/parquet/thrift.c
    ${CMAKE_SOURCE_DIR}/lib/core/parquet/meta.c
    ${CMAKE_SOURCE_DIR}/lib/core/parquet/rle.c
    ${CMAKE_SOURCE_DIR}/lib/core/parquet/encoding.c
    ${CMAKE_SOURCE_DIR}/lib/core/parquet/page.c
    ${CMAKE_SOURCE_DIR}/lib/core/parquet/column.c
    ${CMAKE_SOURCE_DIR}/lib/core/parquet/value.c
    ${CMAKE_SOURCE_DIR}/lib/core/parquet/stats.c
    ${CMAKE_SOURCE_DIR}/lib/core/parquet/write.c
    ${CMAKE_SOURCE_DIR}/lib/core/parquet/write_enc.c
)
# pkg-config modules the reader links (codecs); libm for value.c.
set (TL_PARQUET_PKGS snappy zlib libzstd liblz4 libbrotlidec)
# Tests only: the unit tests compress with libbrotlienc (and the others above) to make pages.
set (TL_PARQUET_TEST_PKGS cmocka libbrotlienc)
