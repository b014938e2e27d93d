/*  ec2_cost.c — what a fleet costs: instance-seconds (60 s minimum) times the spot price in
    effect over each instance's life (EC2's spot price history, integrated piecewise), or the
    on-demand list price from a small table (EC2's API has no on-demand prices). */
#include "provision/ec2_cost.h"
#include "lib/base/log.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*  On-demand Linux prices in us-east-1, $/h (AWS's list prices; other regions differ). EC2's
    API has no on-demand price (that is the Pricing service), so tally keeps a small table. */
static const struct {
    const char *type;
    double usd;
} s_ondemand [] = {
    { "t3.micro", 0.0104 },   { "t3.small", 0.0208 },   { "t3.medium", 0.0416 },  { "t3.large", 0.0832 },
    { "m5.large", 0.096 },    { "m5.xlarge", 0.192 },   { "m5.2xlarge", 0.384 },  { "m5.4xlarge", 0.768 },
    { "m6i.2xlarge", 0.384 }, { "c5.large", 0.085 },    { "c5.xlarge", 0.17 },    { "c5.2xlarge", 0.34 },
    { "c5.4xlarge", 0.68 },   { "c6i.2xlarge", 0.34 },  { "c7i.2xlarge", 0.357 }, { "r5.large", 0.126 },
    { "r5.xlarge", 0.252 },   { "r5.2xlarge", 0.504 },  { "i3.large", 0.156 },    { "i3.xlarge", 0.312 },
    { "i3.2xlarge", 0.624 },  { "i3en.large", 0.226 },  { "i3en.xlarge", 0.452 }, { "i3en.2xlarge", 0.904 },
    { "i3en.3xlarge", 1.356 }, { "i3en.6xlarge", 2.712 },
};

double
tl_ec2_ondemand_price (const char *type)
{
    for (size_t i = 0; i < sizeof s_ondemand / sizeof s_ondemand [0]; i++)
        if (strcmp (s_ondemand [i].type, type) == 0)
            return s_ondemand [i].usd;
    return -1;
}

/*  Piecewise integral of the spot price over [from, to) for type in az, in $ (per second). */
static double
s_spot_cost (const tl_ec2_t *ec2, const char *type, const char *az, time_t from, time_t to, double *rate)
{
    char t0 [32], t1 [32];
    tl_ec2_iso_time (from, t0);
    tl_ec2_iso_time (to, t1);
    tl_kv_t q [] = { { "InstanceType.1", type },     { "ProductDescription.1", "Linux/UNIX" },
                     { "AvailabilityZone", az },     { "StartTime", t0 }, { "EndTime", t1 } };
    tl_xml_t *x = NULL;
    tl_err_t e = { 0 };
    *rate = -1;
    if (tl_ec2_call (ec2, "DescribeSpotPriceHistory", q, 5, &x, &e) != 0) {
        tl_error ("%s", e.msg);
        return -1;
    }
    /* Points (timestamp, price), sorted; the price in effect at t is the last point <= t. */
    struct { time_t t; double p; } pts [512];
    int n = 0;
    for (tl_xml_t *i = tl_xml_find (x, "spotPriceHistorySet/item"); i && n < 512; i = tl_xml_next_same (i)) {
        if (*az && strcmp (tl_xml_text (i, "availabilityZone"), az) != 0)
            continue;
        pts [n].t = tl_ec2_parse_time (tl_xml_text (i, "timestamp"));
        pts [n].p = atof (tl_xml_text (i, "spotPrice"));
        n++;
    }
    tl_xml_destroy (&x);
    if (n == 0)
        return -1;
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && pts [j].t < pts [j - 1].t; j--) {
            time_t tt = pts [j].t;
            double pp = pts [j].p;
            pts [j] = pts [j - 1];
            pts [j - 1].t = tt;
            pts [j - 1].p = pp;
        }
    double usd = 0;
    for (int i = 0; i < n; i++) {
        time_t a = i == 0 ? from : (pts [i].t > from ? pts [i].t : from);
        time_t b = i + 1 < n ? (pts [i + 1].t < to ? pts [i + 1].t : to) : to;
        if (i == 0 && pts [0].t > from)
            a = from;   /* before the first point: its price */
        if (b > a)
            usd += pts [i].p * (double) (b - a) / 3600.0;
        *rate = pts [i].p;
    }
    return usd;
}

/*  Print the fleet's instances and their cost; returns the total in $ (or -1 if unknown). */
double
tl_ec2_report (const tl_ec2_t *ec2, const tl_ec2_inst_t *v, int n, const char *fleet)
{
    time_t now = time (NULL);
    double total = 0, hours = 0;
    int unknown = 0;
    printf ("%-22s %-14s %-14s %-12s %-9s %9s %9s %9s\n", "instance", "state", "type", "zone", "market", "hours",
            "$/h", "$");
    for (int i = 0; i < n; i++) {
        const tl_ec2_inst_t *it = &v [i];
        time_t end = it->end ? it->end : now;
        time_t secs = end > it->launch ? end - it->launch : 0;
        if (secs < 60 && strcmp (it->state, "pending") != 0)
            secs = 60;      /* billed per second with a one-minute minimum */
        double rate = -1, usd;
        if (strcmp (it->lifecycle, "spot") == 0)
            usd = s_spot_cost (ec2, it->type, it->az, it->launch, it->launch + secs, &rate);
        else {
            rate = tl_ec2_ondemand_price (it->type);
            usd = rate >= 0 ? rate * (double) secs / 3600.0 : -1;
        }
        hours += (double) secs / 3600.0;
        if (usd < 0)
            unknown++;
        else
            total += usd;
        char r [32] = "?", u [32] = "?";
        if (rate >= 0)
            snprintf (r, sizeof r, "%.5f", rate);
        if (usd >= 0)
            snprintf (u, sizeof u, "%.5f", usd);
        printf ("%-22s %-14s %-14s %-12s %-9s %9.3f %9s %9s\n", it->id, it->state, it->type, it->az, it->lifecycle,
                (double) secs / 3600.0, r, u);
    }
    printf ("fleet %s: %d instance(s), %.3f instance-hours, cost $%.5f%s\n", fleet, n, hours, total,
            unknown ? " (plus instances whose price is unknown)" : "");
    return unknown ? -1 : total;
}
