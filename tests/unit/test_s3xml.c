/*  S3 XML: ListObjectsV2 pages (keys with spaces and entities, continuation) and error documents. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>
#include "lib/aws/s3xml.h"
#include "lib/aws/http.h"

static void
test_list_page (void **state)
{
    (void) state;
    const char *x = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                    "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>nyc-tlc</Name>"
                    "<Prefix>trip data/</Prefix><KeyCount>3</KeyCount><IsTruncated>true</IsTruncated>"
                    "<NextContinuationToken>tok/+=</NextContinuationToken>"
                    "<Contents><Key>trip data/</Key><Size>0</Size></Contents>"
                    "<Contents><Key>trip data/yellow &amp; co.csv</Key><LastModified>x</LastModified><Size>2600000000</Size></Contents>"
                    "<Contents><Size>5</Size><Key>trip data/b.csv</Key></Contents></ListBucketResult>";
    tl_s3_page_t p;
    tl_err_t e;
    assert_int_equal (tl_s3xml_list (x, strlen (x), &p, &e), 0);
    assert_int_equal (p.n, 3);
    assert_string_equal (p.v [1].key, "trip data/yellow & co.csv");
    assert_int_equal (p.v [1].size, 2600000000ULL);
    assert_string_equal (p.v [2].key, "trip data/b.csv");
    assert_int_equal (p.v [2].size, 5);
    assert_true (p.truncated);
    assert_string_equal (p.next_token, "tok/+=");
    tl_s3xml_page_free (&p);
}

static void
test_malformed (void **state)
{
    (void) state;
    tl_s3_page_t p;
    tl_err_t e;
    const char *bad [] = {
        "<ListBucketResult><Contents><Key>a</Key>",                          /* cut off */
        "<Error><Code>NoSuchBucket</Code></Error>",                         /* not a listing */
        "<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>", /* no token */
        "not xml at all",
    };
    for (size_t i = 0; i < 4; i++)
        assert_int_not_equal (tl_s3xml_list (bad [i], strlen (bad [i]), &p, &e), 0);
}

static void
test_errors (void **state)
{
    (void) state;
    const char *x = "<?xml version=\"1.0\"?><Error><Code>SlowDown</Code><Message>Please reduce</Message></Error>";
    char code [64], msg [64];
    tl_s3xml_error (x, strlen (x), code, sizeof code, msg, sizeof msg);
    assert_string_equal (code, "SlowDown");
    assert_string_equal (msg, "Please reduce");
    /* The HTTP engine's retry policy, with S3's reading of the body (tl_s3xml_explain). */
    tl_http_error_t why = { 0 }, none = { 0 }, gone = { 0 };
    tl_s3xml_explain (x, strlen (x), &why);
    assert_true (tl_http_retryable (400, &why));
    assert_true (tl_http_retryable (503, &none));
    tl_s3xml_explain ("<Error><Code>NoSuchKey</Code></Error>", 37, &gone);
    assert_false (tl_http_retryable (404, &gone));
    char d [200];
    tl_s3xml_describe (404, "<Error><Code>NoSuchKey</Code><Message>gone</Message></Error>", 61, d, sizeof d);
    assert_string_equal (d, "HTTP 404 NoSuchKey: gone");
    tl_s3xml_error ("junk", 4, code, sizeof code, msg, sizeof msg);
    assert_string_equal (code, "");
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_list_page), cmocka_unit_test (test_malformed), cmocka_unit_test (test_errors),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
