/*  Credential parsing: shared files (profiles, [profile x] in config) and the IMDS JSON. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "lib/aws/creds.h"

static void
s_write (const char *path, const char *text)
{
    FILE *f = fopen (path, "w");
    assert_non_null (f);
    fputs (text, f);
    fclose (f);
}

static void
test_files (void **state)
{
    (void) state;
    char dir [] = "/tmp/tally-creds-XXXXXX";
    assert_non_null (mkdtemp (dir));
    char cred [256], conf [256];
    snprintf (cred, sizeof cred, "%s/credentials", dir);
    snprintf (conf, sizeof conf, "%s/config", dir);
    s_write (cred, "[default]\naws_access_key_id = AKIADEFAULT000000000\naws_secret_access_key = s1\n"
                   "; a comment\n[temp]\naws_access_key_id=ASIATEMP\naws_secret_access_key=s2\naws_session_token=tok\n");
    s_write (conf, "[default]\nregion = us-west-2\n[profile cfg]\naws_access_key_id = AKIACFG\n"
                   "aws_secret_access_key = s3\nregion = eu-west-1\n");
    tl_creds_t c;
    assert_int_equal (tl_creds_from_files (cred, conf, "default", &c), 0);
    assert_string_equal (c.access_key, "AKIADEFAULT000000000");
    assert_string_equal (c.secret_key, "s1");
    assert_int_equal (tl_creds_from_files (cred, conf, "temp", &c), 0);
    assert_string_equal (c.session_token, "tok");
    assert_int_equal (tl_creds_from_files (cred, conf, "cfg", &c), 0);   /* found in the config file */
    assert_string_equal (c.secret_key, "s3");
    assert_non_null (strstr (c.source, "config"));
    assert_int_not_equal (tl_creds_from_files (cred, conf, "nosuch", &c), 0);
    assert_int_not_equal (tl_creds_from_files ("/nonexistent/x", "/nonexistent/y", "default", &c), 0);
    setenv ("AWS_CONFIG_FILE", conf, 1);
    setenv ("AWS_PROFILE", "cfg", 1);
    char region [64];
    assert_int_equal (tl_config_region (region, sizeof region), 0);
    assert_string_equal (region, "eu-west-1");
    unsetenv ("AWS_PROFILE");
    assert_int_equal (tl_config_region (region, sizeof region), 0);
    assert_string_equal (region, "us-west-2");
    char hint [16];
    tl_creds_key_hint (&c, hint);
    assert_string_equal (hint, "(short key)");
    unlink (cred);
    unlink (conf);
    rmdir (dir);
}

static void
test_imds_json (void **state)
{
    (void) state;
    const char *j = "{\"Code\":\"Success\",\"AccessKeyId\":\"ASIAIMDS\",\"SecretAccessKey\":\"sec\","
                    "\"Token\":\"tok\",\"Expiration\":\"2026-11-25T12:00:00Z\"}";
    tl_creds_t c;
    tl_err_t e;
    assert_int_equal (tl_creds_from_imds_json (j, strlen (j), &c, &e), 0);
    assert_string_equal (c.access_key, "ASIAIMDS");
    assert_string_equal (c.session_token, "tok");
    assert_int_equal (c.expires, 1795608000);
    assert_int_not_equal (tl_creds_from_imds_json ("{\"AccessKeyId\":\"x\"}", 19, &c, &e), 0);
    assert_int_not_equal (tl_creds_from_imds_json ("not json", 8, &c, &e), 0);
    assert_int_not_equal (tl_creds_from_imds_json ("[1,2]", 5, &c, &e), 0);
}

int
main (void)
{
    const struct CMUnitTest tests [] = { cmocka_unit_test (test_files), cmocka_unit_test (test_imds_json) };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
