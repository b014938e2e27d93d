/*  ec2_cost.h — the cost of EC2 instances, and the on-demand prices tally knows. */
#ifndef TL_EC2_COST_H
#define TL_EC2_COST_H
#include "provision/ec2_api.h"
#include <time.h>

/*  One instance of a fleet, as DescribeInstances shows it. */
typedef struct {
    char id [64], state [32], type [64], az [64], lifecycle [16];
    time_t launch, end;     /* end: when it stopped billing, 0 while it runs */
} tl_ec2_inst_t;

/*  The on-demand Linux price of type in us-east-1, $/h, or -1 if not in the table. */
double tl_ec2_ondemand_price (const char *type);
/*  Print the instances and their cost on stdout; returns the total in $ (-1 if a price is
    unknown). */
double tl_ec2_report (const tl_ec2_t *ec2, const tl_ec2_inst_t *v, int n, const char *fleet);
#endif
