/*  ec2.c — the ec2 backend: mappers on EC2 (spot or on-demand) instances through the EC2 Query
    API (ec2_api.c). The tags are the truth: every instance carries tally-fleet=FLEET, and
    `status`/`down` find instances by that tag even without the state file. `up` stages the .deb
    in S3 (or takes --deb-url), launches all-or-nothing with a user-data script (userdata.c) that
    arms a lifetime guard, tags, and waits for the mappers to join; a failure on the way rolls
    back what was made. `down` terminates by tag, waits for EC2 to say so and deletes the staged
    package. Costs: ec2_cost.c. */
#include "provision/backend.h"
#include "provision/ec2_api.h"
#include "provision/ec2_cost.h"
#include "provision/fleet.h"
#include "provision/join.h"
#include "provision/userdata.h"
#include "lib/aws/creds.h"
#include "lib/base/log.h"
#include "lib/base/util.h"
#include "lib/store/s3.h"
#include <czmq.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int
s_ec2_setup (const tl_prov_opts_t *o, tl_ec2_t *ec2)
{
    tl_err_t e = { 0 };
    tl_creds_t cr;
    if (tl_ec2_init (ec2, o->endpoint, o->region, &e) != 0 || tl_creds_get (&cr, &e) != 0) {
        tl_error ("%s", e.msg);
        return -1;
    }
    return 0;
}

/*  The fleet's instances, found by tag. Returns the count or -1. */
static int
s_ec2_find (const tl_ec2_t *ec2, const char *fleet, tl_ec2_inst_t **out, tl_err_t *e)
{
    *out = NULL;
    char tagname [64];
    snprintf (tagname, sizeof tagname, "tag:%s", TL_PROV_TAG);
    tl_kv_t q [] = { { "Filter.1.Name", tagname }, { "Filter.1.Value.1", fleet } };
    tl_xml_t *x = NULL;
    if (tl_ec2_call (ec2, "DescribeInstances", q, 2, &x, e) != 0)
        return -1;
    int n = 0, cap = 0;
    tl_ec2_inst_t *v = NULL;
    for (tl_xml_t *r = tl_xml_find (x, "reservationSet/item"); r; r = tl_xml_next_same (r))
        for (tl_xml_t *i = tl_xml_find (r, "instancesSet/item"); i; i = tl_xml_next_same (i)) {
            if (n == cap) {
                cap = cap ? cap * 2 : 16;
                tl_ec2_inst_t *nv = realloc (v, (size_t) cap * sizeof *v);
                if (!nv)
                    break;
                v = nv;
            }
            tl_ec2_inst_t *it = &v [n++];
            memset (it, 0, sizeof *it);
            snprintf (it->id, sizeof it->id, "%s", tl_xml_text (i, "instanceId"));
            snprintf (it->state, sizeof it->state, "%s", tl_xml_text (i, "instanceState/name"));
            snprintf (it->type, sizeof it->type, "%s", tl_xml_text (i, "instanceType"));
            snprintf (it->az, sizeof it->az, "%s", tl_xml_text (i, "placement/availabilityZone"));
            snprintf (it->lifecycle, sizeof it->lifecycle, "%s",
                      *tl_xml_text (i, "instanceLifecycle") ? tl_xml_text (i, "instanceLifecycle") : "on-demand");
            it->launch = tl_ec2_parse_time (tl_xml_text (i, "launchTime"));
            /* "User initiated (2026-11-25 07:39:12 GMT)": when it stopped billing. */
            const char *why = strchr (tl_xml_text (i, "reason"), '(');
            if (strcmp (it->state, "terminated") == 0 || strcmp (it->state, "stopped") == 0)
                it->end = why ? tl_ec2_parse_time (why + 1) : 0;
        }
    tl_xml_destroy (&x);
    *out = v;
    return n;
}

static int
s_ec2_terminate (const tl_ec2_t *ec2, char ids [][64], int n, tl_err_t *e)
{
    if (n == 0)
        return 0;
    tl_kv_t *q = calloc ((size_t) n, sizeof *q);
    char (*names) [32] = calloc ((size_t) n, sizeof *names);
    int rc = TL_ENOMEM;
    if (q && names) {
        for (int i = 0; i < n; i++) {
            snprintf (names [i], sizeof names [i], "InstanceId.%d", i + 1);
            q [i] = (tl_kv_t) { names [i], ids [i] };
        }
        tl_xml_t *x = NULL;
        rc = tl_ec2_call (ec2, "TerminateInstances", q, (size_t) n, &x, e);
        tl_xml_destroy (&x);
    }
    free (q);
    free (names);
    return rc;
}

/*  Terminate every instance of the fleet and wait until EC2 says terminated. */
static int
s_ec2_down_all (const tl_prov_opts_t *o, const tl_ec2_t *ec2, json_t *st)
{
    tl_err_t e = { 0 };
    int64_t deadline = tl_now_ms () + (int64_t) o->wait_s * 1000;
    int asked = 0;
    for (;;) {
        tl_ec2_inst_t *v = NULL;
        int n = s_ec2_find (ec2, o->fleet, &v, &e);
        if (n < 0) {
            tl_error ("%s", e.msg);
            return 1;
        }
        /* Also the ids the state file holds (an instance whose tags never landed). */
        json_t *ids = st ? json_object_get (st, "instances") : NULL;
        char (*term) [64] = calloc ((size_t) n + json_array_size (ids) + 1, 64);
        int k = 0, alive = 0;
        for (int i = 0; i < n; i++)
            if (strcmp (v [i].state, "terminated") != 0) {
                alive++;
                if (strcmp (v [i].state, "shutting-down") != 0)
                    snprintf (term [k++], 64, "%s", v [i].id);
            }
        if (!asked)
            for (size_t j = 0; j < json_array_size (ids); j++) {
                const char *id = json_string_value (json_array_get (ids, j));
                int seen = 0;
                for (int i = 0; i < n; i++)
                    seen |= strcmp (v [i].id, id) == 0;
                if (!seen)
                    snprintf (term [k++], 64, "%s", id);
            }
        if (k && s_ec2_terminate (ec2, term, k, &e) != 0) {
            tl_error ("%s", e.msg);
            /* An unknown id from a half-made up is not fatal; anything else is. */
            if (!strstr (e.msg, "InvalidInstanceID")) {
                free (term);
                free (v);
                return 1;
            }
        }
        if (k)
            tl_info ("terminating %d instance(s) of fleet %s", k, o->fleet);
        asked = 1;
        free (term);
        if (alive == 0 || tl_now_ms () >= deadline) {
            tl_ec2_report (ec2, v, n, o->fleet);
            free (v);
            if (alive) {
                printf ("fleet %s: %d instance(s) not yet terminated after %u s; run down again\n", o->fleet, alive,
                        o->wait_s);
                return 1;
            }
            return 0;
        }
        free (v);
        zclock_sleep (1000);
    }
}

static int
s_ec2_unstage (const tl_prov_opts_t *o, json_t *st)
{
    const char *staged = st ? json_string_value (json_object_get (st, "staged")) : NULL;
    if (!staged)
        return 0;
    tl_store_cfg_t cfg = { .endpoint = o->endpoint, .region = o->region };
    tl_store_cfg_from_env (&cfg);
    tl_err_t e = { 0 };
    if (tl_s3_delete (&cfg, staged, &e) != 0) {
        tl_error ("could not delete the staged package: %s", e.msg);
        return 1;
    }
    tl_info ("deleted %s", staged);
    json_object_del (st, "staged");
    return 0;
}

static int
s_ec2_check_type (const tl_ec2_t *ec2, const char *type)
{
    tl_kv_t q [] = { { "InstanceType.1", type } };
    tl_xml_t *x = NULL;
    tl_err_t e = { 0 };
    if (tl_ec2_call (ec2, "DescribeInstanceTypes", q, 1, &x, &e) != 0 || !tl_xml_find (x, "instanceTypeSet/item")) {
        if (strstr (e.msg, "InvalidInstanceType") || (x && !tl_xml_find (x, "instanceTypeSet/item")))
            tl_error ("unknown instance type '%s' in %s", type, ec2->region);
        else
            tl_error ("%s", e.msg);
        tl_xml_destroy (&x);
        return -1;
    }
    tl_xml_destroy (&x);
    return 0;
}

/*  Debian's newest Debian 12 amd64 image (owner 136693071363), into ami. */
static int
s_ec2_find_ami (const tl_ec2_t *ec2, char *ami, size_t len)
{
    tl_kv_t q [] = { { "Owner.1", "136693071363" }, { "Filter.1.Name", "name" }, { "Filter.1.Value.1", "debian-12-amd64-*" } };
    tl_xml_t *x = NULL;
    tl_err_t e = { 0 };
    if (tl_ec2_call (ec2, "DescribeImages", q, 3, &x, &e) != 0) {
        tl_error ("%s", e.msg);
        return -1;
    }
    char best [64] = "", when [64] = "";
    for (tl_xml_t *i = tl_xml_find (x, "imagesSet/item"); i; i = tl_xml_next_same (i))
        if (strcmp (tl_xml_text (i, "creationDate"), when) > 0) {
            snprintf (when, sizeof when, "%s", tl_xml_text (i, "creationDate"));
            snprintf (best, sizeof best, "%s", tl_xml_text (i, "imageId"));
        }
    tl_xml_destroy (&x);
    if (!*best) {
        tl_error ("no Debian 12 image found in %s; pass --ami ID", ec2->region);
        return -1;
    }
    snprintf (ami, len, "%s", best);
    return 0;
}

static int
s_up (const tl_prov_opts_t *o, json_t *st, int64_t t0)
{
    tl_ec2_t ec2;
    if (s_ec2_setup (o, &ec2) != 0)
        return 1;
    if (s_ec2_check_type (&ec2, o->itype) != 0)
        return 1;
    char ami [64];
    if (o->ami)
        snprintf (ami, sizeof ami, "%s", o->ami);
    else if (s_ec2_find_ami (&ec2, ami, sizeof ami) != 0)
        return 1;
    if (!o->deb_url && !(o->deb && o->stage)) {
        tl_error ("ec2 needs --deb FILE with --stage s3://BUCKET/PREFIX, or --deb-url URL "
                         "(how instances install tally)");
        return 2;
    }
    tl_err_t e = { 0 };
    json_object_set_new (st, "region", json_string (ec2.region));
    json_object_set_new (st, "endpoint", json_string (ec2.endpoint));
    json_object_set_new (st, "instance_type", json_string (o->itype));
    json_object_set_new (st, "spot", json_boolean (o->spot));
    char *url = NULL;
    if (o->deb_url)
        url = strdup (o->deb_url);
    else {
        char *deb = NULL;
        size_t deblen = 0;
        if (tl_read_file (o->deb, &deb, &deblen, 512 * 1024 * 1024, &e) != 0) {
            tl_error ("--deb: %s", e.msg);
            return 2;
        }
        const char *base = strrchr (o->deb, '/') ? strrchr (o->deb, '/') + 1 : o->deb;
        char uri [2048];
        snprintf (uri, sizeof uri, "%s%s%s/%s", o->stage, o->stage [strlen (o->stage) - 1] == '/' ? "" : "/", o->fleet,
                  base);
        tl_store_cfg_t cfg = { .region = o->region };
        tl_store_cfg_from_env (&cfg);
        int rc = tl_s3_put (&cfg, uri, deb, deblen, &e);
        free (deb);
        if (rc != 0) {
            tl_error ("staging the package: %s", e.msg);
            return 1;
        }
        json_object_set_new (st, "staged", json_string (uri));
        tl_fleet_save (o, st, &e);
        tl_info ("staged %s (%zu bytes)", uri, deblen);
        url = tl_s3_presign (&cfg, uri, o->lifetime_s + 3600 > 604800 ? 604800 : o->lifetime_s + 3600, &e);
        if (!url) {
            tl_error ("%s", e.msg);
            s_ec2_unstage (o, st);
            tl_fleet_save (o, st, &e);
            return 1;
        }
    }
    tl_userdata_t ud = { .fleet = o->fleet, .broker = o->broker, .deb_url = url, .slots = o->slots,
                         .max_lifetime_s = o->lifetime_s, .version = TALLY_VERSION, .extra = o->margs };
    char *script = tl_userdata (&ud);
    free (url);
    if (!script) {
        tl_error ("--fleet, --broker and the package URL must not hold quotes or spaces");
        s_ec2_unstage (o, st);
        tl_fleet_save (o, st, &e);
        return 2;
    }
    size_t slen = strlen (script);
    char *b64 = malloc (4 * ((slen + 2) / 3) + 1);
    if (!b64) {
        free (script);
        return 1;
    }
    EVP_EncodeBlock ((unsigned char *) b64, (const unsigned char *) script, (int) slen);
    free (script);
    char count [16], token [40], rid [17];
    snprintf (count, sizeof count, "%u", o->count);
    tl_random_id (rid);
    snprintf (token, sizeof token, "tally-%s", rid);
    char maxp [32];
    if (o->max_price)
        snprintf (maxp, sizeof maxp, "%s", o->max_price);
    else if (tl_ec2_ondemand_price (o->itype) > 0)
        snprintf (maxp, sizeof maxp, "%.4f", tl_ec2_ondemand_price (o->itype));
    else
        maxp [0] = 0;
    tl_kv_t q [40];
    size_t k = 0;
    q [k++] = (tl_kv_t) { "ImageId", ami };
    q [k++] = (tl_kv_t) { "InstanceType", o->itype };
    /* All or nothing: a fleet smaller than asked is reported as an error, not discovered later. */
    q [k++] = (tl_kv_t) { "MinCount", count };
    q [k++] = (tl_kv_t) { "MaxCount", count };
    q [k++] = (tl_kv_t) { "UserData", b64 };
    q [k++] = (tl_kv_t) { "ClientToken", token };
    q [k++] = (tl_kv_t) { "InstanceInitiatedShutdownBehavior", "terminate" };
    q [k++] = (tl_kv_t) { "TagSpecification.1.ResourceType", "instance" };
    q [k++] = (tl_kv_t) { "TagSpecification.1.Tag.1.Key", TL_PROV_TAG };
    q [k++] = (tl_kv_t) { "TagSpecification.1.Tag.1.Value", o->fleet };
    if (o->spot) {
        q [k++] = (tl_kv_t) { "InstanceMarketOptions.MarketType", "spot" };
        q [k++] = (tl_kv_t) { "InstanceMarketOptions.SpotOptions.SpotInstanceType", "one-time" };
        q [k++] = (tl_kv_t) { "InstanceMarketOptions.SpotOptions.InstanceInterruptionBehavior", "terminate" };
        if (*maxp)
            q [k++] = (tl_kv_t) { "InstanceMarketOptions.SpotOptions.MaxPrice", maxp };
    }
    if (o->subnet)
        q [k++] = (tl_kv_t) { "SubnetId", o->subnet };
    if (o->sg)
        q [k++] = (tl_kv_t) { "SecurityGroupId.1", o->sg };
    if (o->key_name)
        q [k++] = (tl_kv_t) { "KeyName", o->key_name };
    if (o->profile)
        q [k++] = (tl_kv_t) { "IamInstanceProfile.Name", o->profile };
    tl_xml_t *x = NULL;
    int rc = tl_ec2_call (&ec2, "RunInstances", q, k, &x, &e);
    free (b64);
    if (rc != 0) {
        tl_error ("%s", e.msg);
        /* Nothing may have started, but a lost reply can hide instances: down finds them by tag. */
        s_ec2_down_all (o, &ec2, st);
        s_ec2_unstage (o, st);
        tl_fleet_remove (o);
        return 1;
    }
    json_t *ids = json_array ();
    json_object_set_new (st, "instances", ids);
    for (tl_xml_t *i = tl_xml_find (x, "instancesSet/item"); i; i = tl_xml_next_same (i))
        json_array_append_new (ids, json_string (tl_xml_text (i, "instanceId")));
    tl_xml_destroy (&x);
    if (tl_fleet_save (o, st, &e) != 0)
        tl_error ("%s", e.msg);
    size_t got = json_array_size (ids);
    tl_info ("%zu of %u %s instance(s) of %s launched (%s)", got, o->count,
             o->spot ? "spot" : "on-demand", o->itype, ami);
    /* A Name tag on every instance, so the console shows the fleet. */
    tl_kv_t tq [TL_PROV_MAX_HOSTS + 2];
    char names [TL_PROV_MAX_HOSTS][24], tname [96];
    size_t tk = 0;
    for (size_t i = 0; i < got && i < TL_PROV_MAX_HOSTS; i++) {
        snprintf (names [i], sizeof names [i], "ResourceId.%zu", i + 1);
        tq [tk++] = (tl_kv_t) { names [i], json_string_value (json_array_get (ids, i)) };
    }
    snprintf (tname, sizeof tname, "tally-%s", o->fleet);
    tq [tk++] = (tl_kv_t) { "Tag.1.Key", "Name" };
    tq [tk++] = (tl_kv_t) { "Tag.1.Value", tname };
    if (tl_ec2_call (&ec2, "CreateTags", tq, tk, &x, &e) != 0) {
        tl_error ("tagging failed, rolling back: %s", e.msg);
        s_ec2_down_all (o, &ec2, st);
        s_ec2_unstage (o, st);
        tl_fleet_remove (o);
        return 1;
    }
    tl_xml_destroy (&x);
    return tl_prov_wait_joined (o, (int) got, t0, NULL, NULL);
}

int
tl_prov_ec2_price (const tl_prov_opts_t *o)
{
    tl_ec2_t ec2;
    if (s_ec2_setup (o, &ec2) != 0)
        return 1;
    if (s_ec2_check_type (&ec2, o->itype) != 0)
        return 1;
    char now [32];
    tl_ec2_iso_time (time (NULL), now);
    tl_kv_t q [] = { { "InstanceType.1", o->itype }, { "ProductDescription.1", "Linux/UNIX" }, { "StartTime", now } };
    tl_xml_t *x = NULL;
    tl_err_t e = { 0 };
    if (tl_ec2_call (&ec2, "DescribeSpotPriceHistory", q, 3, &x, &e) != 0) {
        tl_error ("%s", e.msg);
        return 1;
    }
    printf ("%s in %s, Linux/UNIX, $/hour\n", o->itype, ec2.region);
    printf ("  %-16s %10s\n", "zone", "spot");
    /* The newest price per zone. */
    struct { char az [64]; time_t t; double p; } z [64];
    int nz = 0;
    for (tl_xml_t *i = tl_xml_find (x, "spotPriceHistorySet/item"); i; i = tl_xml_next_same (i)) {
        const char *az = tl_xml_text (i, "availabilityZone");
        time_t t = tl_ec2_parse_time (tl_xml_text (i, "timestamp"));
        int j = 0;
        while (j < nz && strcmp (z [j].az, az) != 0)
            j++;
        if (j == nz) {
            if (nz == 64)
                continue;
            snprintf (z [nz].az, sizeof z [nz].az, "%s", az);
            z [nz].t = 0;
            nz++;
        }
        if (t >= z [j].t) {
            z [j].t = t;
            z [j].p = atof (tl_xml_text (i, "spotPrice"));
        }
    }
    tl_xml_destroy (&x);
    double best = -1;
    for (int j = 0; j < nz; j++) {
        printf ("  %-16s %10.5f\n", z [j].az, z [j].p);
        if (best < 0 || z [j].p < best)
            best = z [j].p;
    }
    if (nz == 0)
        printf ("  (no spot price history for this type here)\n");
    double od = tl_ec2_ondemand_price (o->itype);
    if (od > 0) {
        printf ("  %-16s %10.4f  (us-east-1 list price, from tally's table)\n", "on-demand", od);
        if (best >= 0)
            printf ("cheapest spot: $%.4f/h, %.0f%% of on-demand; 12 machines for 10 minutes: $%.2f\n", best,
                    100.0 * best / od, best * 12 / 6);
    }
    else
        printf ("  %-16s %10s  (not in tally's table)\n", "on-demand", "?");
    return 0;
}

static void
s_adopt (tl_prov_opts_t *o, const json_t *st)
{
    if (st && !o->endpoint && json_string_value (json_object_get (st, "endpoint")))
        o->endpoint = json_string_value (json_object_get (st, "endpoint"));
    if (st && !o->region && json_string_value (json_object_get (st, "region")))
        o->region = json_string_value (json_object_get (st, "region"));
}

static int
s_status (const tl_prov_opts_t *o, json_t *st)
{
    (void) st;
    tl_ec2_t ec2;
    if (s_ec2_setup (o, &ec2) != 0)
        return 1;
    tl_err_t e = { 0 };
    tl_ec2_inst_t *insts = NULL;
    int n = s_ec2_find (&ec2, o->fleet, &insts, &e);
    int rc = 0;
    if (n < 0) {
        tl_error ("%s", e.msg);
        rc = 1;
    }
    else
        tl_ec2_report (&ec2, insts, n, o->fleet);
    free (insts);
    return rc;
}

static int
s_down (const tl_prov_opts_t *o, json_t *st)
{
    tl_ec2_t ec2;
    if (s_ec2_setup (o, &ec2) != 0)
        return 1;
    int rc = s_ec2_down_all (o, &ec2, st);
    if (s_ec2_unstage (o, st) != 0)
        rc = 1;
    return rc;
}

const tl_prov_backend_t tl_prov_ec2 = { .name = "ec2", .up = s_up, .status = s_status, .down = s_down,
                                        .adopt = s_adopt };
