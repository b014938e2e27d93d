/*  The pure parts of provision: the user-data script, the EC2 form body, the XML tree. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include "lib/aws/xml.h"
#include "provision/ec2_api.h"
#include "provision/userdata.h"

static void
test_userdata (void **state)
{
    (void) state;
    tl_userdata_t u = { .fleet = "f1", .broker = "tcp://10.0.0.5:5555", .deb_url = "https://b.s3/x.deb?X-Amz-Signature=ab",
                        .slots = 8, .max_lifetime_s = 5400, .version = "0.1.0", .extra = "--range-size 16M" };
    char *s = tl_userdata (&u);
    assert_non_null (s);
    assert_true (strncmp (s, "#!/bin/bash\n", 12) == 0);
    assert_non_null (strstr (s, "\nshutdown -P +90 "));     /* 5400 s = 90 min, armed before the install */
    assert_true (strstr (s, "shutdown -P") < strstr (s, "apt-get install"));
    assert_non_null (strstr (s, "curl -fsSL --retry 5 -o /tmp/tally.deb 'https://b.s3/x.deb?X-Amz-Signature=ab'"));
    assert_non_null (strstr (s, "\nTALLY_BROKER=tcp://10.0.0.5:5555\n"));
    assert_non_null (strstr (s, "\nTALLY_MAPPER_ARGS=--fleet f1 --slots 8 --range-size 16M\n"));
    assert_non_null (strstr (s, "\nsystemctl enable --now tally-mapper.service\n"));
    free (s);
    u.max_lifetime_s = 61;      /* rounds up to whole minutes */
    s = tl_userdata (&u);
    assert_non_null (strstr (s, "\nshutdown -P +2 "));
    free (s);
    /* Anything that could break out of the quotes or the heredoc is refused. */
    u.broker = "tcp://x:1'; rm -rf /";
    assert_null (tl_userdata (&u));
    u.broker = "tcp://x:1";
    u.extra = "--slots 1; reboot";
    assert_null (tl_userdata (&u));
    u.extra = NULL;
    u.max_lifetime_s = 0;
    assert_null (tl_userdata (&u));
}

static void
test_ec2_body (void **state)
{
    (void) state;
    tl_kv_t q [] = { { "MaxCount", "2" }, { "TagSpecification.1.Tag.1.Value", "my fleet" }, { "UserData", "a+b/c=" } };
    char *b = tl_ec2_body ("RunInstances", q, 3);
    assert_string_equal (b, "Action=RunInstances&MaxCount=2&TagSpecification.1.Tag.1.Value=my%20fleet"
                            "&UserData=a%2Bb%2Fc%3D&Version=2016-11-15");
    free (b);
}

static void
test_xml (void **state)
{
    (void) state;
    const char *doc = "<?xml version=\"1.0\"?><DescribeInstancesResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\">"
                      "<reservationSet><item><instancesSet><item><instanceId>i-1</instanceId>"
                      "<instanceState><name>running</name></instanceState></item>"
                      "<item><instanceId>i-2</instanceId><other/></item></instancesSet></item></reservationSet>"
                      "</DescribeInstancesResponse>";
    tl_err_t e = { 0 };
    tl_xml_t *x = tl_xml_parse (doc, strlen (doc), &e);
    assert_non_null (x);
    assert_string_equal (x->name, "DescribeInstancesResponse");
    tl_xml_t *i = tl_xml_find (x, "reservationSet/item/instancesSet/item");
    assert_string_equal (tl_xml_text (i, "instanceId"), "i-1");
    assert_string_equal (tl_xml_text (i, "instanceState/name"), "running");
    i = tl_xml_next_same (i);
    assert_string_equal (tl_xml_text (i, "instanceId"), "i-2");
    assert_string_equal (tl_xml_text (i, "instanceState/name"), "");
    assert_null (tl_xml_next_same (i));
    tl_xml_destroy (&x);
    assert_null (x);
    assert_null (tl_xml_parse ("<a><b></a>", 10, &e));
    assert_non_null (strstr (e.msg, "malformed XML"));
    char deep [2000] = "";
    for (int k = 0; k < 100; k++)
        strcat (deep, "<a>");
    assert_null (tl_xml_parse (deep, strlen (deep), &e));
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_userdata), cmocka_unit_test (test_ec2_body), cmocka_unit_test (test_xml),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
