// Polars (nodejs-polars, lazy scanParquet) on Parquet, as the peer in bench/parquet.sh: rows by
// passenger_count ("count"), or rides and distance by pickup date ("date"). Threads: the
// POLARS_MAX_THREADS environment variable (Polars' default is one per core).
// Prints CSV without a header: key,count[,sum].
// usage: node parquet.mjs GLOB count|date
import pl from 'nodejs-polars';
const [glob, what] = process.argv.slice(2);
const lf = pl.scanParquet(glob);
const df = what === 'date'
  ? lf.groupBy(pl.col('tpep_pickup_datetime').dt.strftime('%Y-%m-%d').alias('d'))
      .agg(pl.len().alias('n'), pl.col('trip_distance').sum().alias('s')).collectSync()
  : lf.groupBy('passenger_count').agg(pl.len().alias('n')).collectSync();
let out = '';
for (const row of df.rows()) out += row.map((v) => v ?? '').join(',') + '\n';
process.stdout.write(out);
