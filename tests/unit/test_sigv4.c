/*  SigV4 against AWS's published S3 examples (docs: "Signature Calculations for the
    Authorization Header"), and the URI encoding rules. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include "lib/aws/sigv4.h"

#define AK "AKIAIOSFODNN7EXAMPLE"
#define SK "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define EMPTY "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

static void
test_get_object_range (void **state)
{
    (void) state;
    tl_kv_t h [] = { { "Range", "bytes=0-9" } };
    tl_sigv4_req_t r = { .method = "GET", .host = "examplebucket.s3.amazonaws.com", .path = "/test.txt",
                         .headers = h, .n_headers = 1, .payload_hash = EMPTY, .amz_date = "20130524T000000Z",
                         .region = "us-east-1", .service = "s3", .access_key = AK, .secret_key = SK };
    char auth [512];
    assert_int_equal (tl_sigv4_authorization (&r, auth, sizeof auth), 0);
    assert_string_equal (auth, "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
                               "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
                               "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

static void
test_list_objects (void **state)
{
    (void) state;
    tl_kv_t q [] = { { "prefix", "J" }, { "max-keys", "2" } };   /* unsorted on purpose */
    tl_sigv4_req_t r = { .method = "GET", .host = "examplebucket.s3.amazonaws.com", .path = "/", .query = q,
                         .n_query = 2, .payload_hash = EMPTY, .amz_date = "20130524T000000Z",
                         .region = "us-east-1", .service = "s3", .access_key = AK, .secret_key = SK };
    char auth [512];
    assert_int_equal (tl_sigv4_authorization (&r, auth, sizeof auth), 0);
    assert_non_null (strstr (auth, "Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"));
    char *cq = tl_sigv4_canonical_query (q, 2);
    assert_string_equal (cq, "max-keys=2&prefix=J");
    free (cq);
}

static void
test_query_without_value (void **state)
{
    (void) state;
    tl_kv_t q [] = { { "lifecycle", NULL } };
    tl_sigv4_req_t r = { .method = "GET", .host = "examplebucket.s3.amazonaws.com", .path = "/", .query = q,
                         .n_query = 1, .payload_hash = EMPTY, .amz_date = "20130524T000000Z",
                         .region = "us-east-1", .service = "s3", .access_key = AK, .secret_key = SK };
    char auth [512];
    assert_int_equal (tl_sigv4_authorization (&r, auth, sizeof auth), 0);
    assert_non_null (strstr (auth, "Signature=fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543"));
}

static void
test_uri_encode (void **state)
{
    (void) state;
    char *s = tl_uri_encode ("trip data/yellow+tripdata=2015%.csv~_-", 1);
    assert_string_equal (s, "trip%20data/yellow%2Btripdata%3D2015%25.csv~_-");
    free (s);
    s = tl_uri_encode ("a/b \xc3\xa9", 0);
    assert_string_equal (s, "a%2Fb%20%C3%A9");
    free (s);
}

static void
test_session_token_signed (void **state)
{
    (void) state;
    tl_sigv4_req_t r = { .method = "GET", .host = "h", .path = "/k", .payload_hash = EMPTY,
                         .amz_date = "20130524T000000Z", .region = "us-east-1", .service = "s3", .access_key = AK,
                         .secret_key = SK, .session_token = "TOKEN" };
    char auth [512];
    assert_int_equal (tl_sigv4_authorization (&r, auth, sizeof auth), 0);
    assert_non_null (strstr (auth, "SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token,"));
    r.amz_date = "bad";
    assert_int_not_equal (tl_sigv4_authorization (&r, auth, sizeof auth), 0);
}

/*  AWS's example of a presigned URL ("Authenticating Requests: Using Query Parameters"):
    GET test.txt from examplebucket for 86400 s. */
static void
test_presign (void **state)
{
    (void) state;
    tl_sigv4_req_t r = { .method = "GET", .host = "examplebucket.s3.amazonaws.com", .path = "/test.txt",
                         .amz_date = "20130524T000000Z", .region = "us-east-1", .service = "s3",
                         .access_key = AK, .secret_key = SK };
    char *q = tl_sigv4_presign (&r, 86400);
    assert_non_null (q);
    assert_string_equal (q, "X-Amz-Algorithm=AWS4-HMAC-SHA256"
                            "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
                            "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-Signature="
                            "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
                            "&X-Amz-SignedHeaders=host");
    free (q);
    r.amz_date = "bad";
    assert_null (tl_sigv4_presign (&r, 60));
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_get_object_range), cmocka_unit_test (test_list_objects),
        cmocka_unit_test (test_query_without_value), cmocka_unit_test (test_uri_encode),
        cmocka_unit_test (test_session_token_signed), cmocka_unit_test (test_presign),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
