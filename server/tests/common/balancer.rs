//! HAProxy in front of spawned relays, configured as docs/deploy.md shows
//! (the cluster test and the scale-out bench), and the fax payloads they send.

use std::{
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::Duration,
};

use fxe_protocol::{MAX_CIPHERTEXT_LEN, stream};
use fxe_server::{config::DatabaseTarget, db::Db};

use super::{client::Relay, spawned::Spawned};

/// The HAProxy configuration of docs/deploy.md, for a frontend on `lb_port`
/// and the relays on `ports`.
pub fn haproxy_config(lb_port: u16, ports: &[u16]) -> String {
    let servers: String =
        ports.iter().enumerate().map(|(i, p)| format!("    server relay{i} 127.0.0.1:{p} check\n")).collect();
    format!(
        "global\n\
         \x20   maxconn 4096\n\
         defaults\n\
         \x20   mode http\n\
         \x20   option forwardfor\n\
         \x20   option redispatch\n\
         \x20   retries 3\n\
         \x20   timeout connect 5s\n\
         \x20   timeout client 1h\n\
         \x20   timeout server 1h\n\
         \x20   timeout http-request 60s\n\
         \x20   timeout check 5s\n\
         frontend fxe\n\
         \x20   bind 127.0.0.1:{lb_port}\n\
         \x20   default_backend relays\n\
         backend relays\n\
         \x20   balance roundrobin\n\
         \x20   option httpchk GET /readyz\n\
         \x20   http-check expect status 200\n\
         \x20   default-server inter 500ms fall 2 rise 1\n\
         {servers}"
    )
}

/// `tool` on PATH (or in /usr/sbin, where Debian puts haproxy).
pub fn which(tool: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| Path::new(d).join(tool))
        .chain(["/usr/sbin", "/sbin"].iter().map(|d| Path::new(d).join(tool)))
        .find(|p| p.is_file())
}

/// HAProxy in the foreground, balancing relays; killed when dropped. Its
/// `db` is the relays' PostgreSQL database, opened beside them (for invites
/// and checks).
pub type Balancer = Spawned;

/// Starts `haproxy` on `lb_port` with its configuration in `dir/<name>.cfg`
/// and waits until it answers `/readyz` from a relay.
pub async fn start(haproxy: &Path, dir: &Path, name: &str, lb_port: u16, ports: &[u16], db_url: &str) -> Balancer {
    let cfg = dir.join(format!("{name}.cfg"));
    std::fs::write(&cfg, haproxy_config(lb_port, ports)).unwrap();
    let child = Command::new(haproxy).arg("-db").arg("-f").arg(&cfg).stdout(Stdio::null()).spawn().unwrap();
    let lb = Balancer {
        child,
        base: format!("http://127.0.0.1:{lb_port}"),
        http: reqwest::Client::builder().timeout(Duration::from_secs(600)).build().unwrap(),
        db: Db::open(&DatabaseTarget::Postgres(db_url.to_owned())).await.unwrap(),
    };
    for _ in 0..600 {
        if lb.http.get(lb.url("/readyz")).send().await.is_ok_and(|r| r.status().is_success()) {
            return lb;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("haproxy did not serve within 60 s");
}

/// The largest plaintext whose ciphertext the relay still takes (100 MiB sealed).
pub fn largest_plaintext() -> u64 {
    let (mut lo, mut hi) = (0u64, MAX_CIPHERTEXT_LEN);
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        if stream::ciphertext_len(mid, stream::V1_CHUNK_SIZE) <= MAX_CIPHERTEXT_LEN {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    lo
}
