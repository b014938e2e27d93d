/*  libFuzzer: any bytes as an EC2 reply: the tree, and the paths provision reads. */
#include <stdint.h>
#include "lib/aws/xml.h"
#include <string.h>

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    tl_err_t e;
    tl_xml_t *x = tl_xml_parse ((const char *) data, size, &e);
    if (!x)
        return 0;
    for (tl_xml_t *r = tl_xml_find (x, "reservationSet/item"); r; r = tl_xml_next_same (r))
        for (tl_xml_t *i = tl_xml_find (r, "instancesSet/item"); i; i = tl_xml_next_same (i))
            if (strlen (tl_xml_text (i, "instanceState/name")) > size)
                __builtin_trap ();
    tl_xml_text (x, "Errors/Error/Code");
    tl_xml_destroy (&x);
    return 0;
}
