//! What one replay-store insert costs with Redis: Redis's own CPU time (its `INFO cpu`
//! counters over the run) and this client's CPU time (`/proc/self/stat`), per insert,
//! inserting distinct ids one by one from several threads. A benchmark program, not a
//! test (BENCHMARKS.md):
//!
//! ```sh
//! redis-server --port 7777 --save "" --appendonly no &
//! cargo run --release -p citycode --features redis --example replay_store_cost -- redis://127.0.0.1:7777/ [inserts] [threads] [batch]
//! ```
//!
//! With `batch` above 1 the ids go through `check_and_insert_batch` in groups of that size.

use std::sync::Arc;
use std::time::Instant;

use citycode::{RedisReplayStore, ReplayStore};

const NOW: u64 = 2_000_000_000;

fn info_field(conn: &mut redis::Connection, section: &str, field: &str) -> Result<f64, Box<dyn std::error::Error>> {
    let info: String = redis::cmd("INFO").arg(section).query(conn)?;
    info.lines()
        .find_map(|l| l.strip_prefix(field).and_then(|v| v.strip_prefix(':')))
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| format!("no {field} in INFO {section}").into())
}

fn redis_cpu(conn: &mut redis::Connection) -> Result<f64, Box<dyn std::error::Error>> {
    Ok(info_field(conn, "cpu", "used_cpu_user")? + info_field(conn, "cpu", "used_cpu_sys")?)
}

/// This process's user + system CPU seconds.
fn own_cpu() -> Result<f64, Box<dyn std::error::Error>> {
    let stat = std::fs::read_to_string("/proc/self/stat")?;
    // Fields after the parenthesised command name; utime and stime are the 14th and 15th.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).ok_or("bad /proc/self/stat")?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 =
        fields.get(11).ok_or("no utime")?.parse::<f64>()? + fields.get(12).ok_or("no stime")?.parse::<f64>()?;
    Ok(ticks / 100.0)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let url = args.next().ok_or("usage: replay_store_cost REDIS_URL [inserts] [threads] [batch]")?;
    let inserts: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(40_000);
    let threads: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(8).max(1);
    let batch: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(1).max(1);

    let mut admin = redis::Client::open(url.as_str())?.get_connection()?;
    let _: () = redis::cmd("FLUSHALL").query(&mut admin)?;
    let store = Arc::new(RedisReplayStore::new(&url)?);
    // A Redis known to be new: no replay window to wait out.
    store.declare_new()?;
    // Warm up: the connection and the script cache.
    store.check_and_insert(&[0xff; 16], NOW + 90, NOW)?;

    let per_thread = inserts / threads;
    let redis_before = redis_cpu(&mut admin)?;
    let own_before = own_cpu()?;
    let start = Instant::now();
    let workers: Vec<_> = (0..threads)
        .map(|t| {
            let store = store.clone();
            std::thread::spawn(move || -> Result<usize, String> {
                let ids: Vec<([u8; 16], u64)> = (0..per_thread)
                    .map(|i| {
                        let mut id = [0u8; 16];
                        id[..8].copy_from_slice(&((t * per_thread + i) as u64).to_le_bytes());
                        // Spread over the first byte too, as random replay ids are.
                        id[8] = (i % 251) as u8;
                        (id, NOW + 90)
                    })
                    .collect();
                let mut accepted = 0;
                for group in ids.chunks(batch) {
                    let results: Vec<Result<(), citycode::ReplayError>> = if batch == 1 {
                        group.iter().map(|(id, exp)| store.check_and_insert(id, *exp, NOW)).collect()
                    } else {
                        store.check_and_insert_batch(group, NOW)
                    };
                    for r in results {
                        r.map_err(|e| e.to_string())?;
                        accepted += 1;
                    }
                }
                Ok(accepted)
            })
        })
        .collect();
    let mut accepted = 0;
    for w in workers {
        accepted += w.join().map_err(|_| "worker panicked")??;
    }
    let wall = start.elapsed().as_secs_f64();
    let own = own_cpu()? - own_before;
    let redis = redis_cpu(&mut admin)? - redis_before;
    let n = accepted as f64;
    println!(
        "inserts={accepted} threads={threads} batch={batch} inserts_per_s={:.0} redis_cpu_us_per_insert={:.2} client_cpu_us_per_insert={:.2}",
        n / wall,
        redis * 1e6 / n,
        own * 1e6 / n
    );
    Ok(())
}
