//! `dink-gateway serve ...` and `dink-gateway dev ...` (see `--help`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use dink_gateway::natsd::{NatsCreds, NatsOptions, NatsServer};
use dink_gateway::{Config, Gateway};

const HELP: &str = "dink-gateway: a dinkd-compatible gateway over a real nats-server (>= 2.10)

USAGE:
  dink-gateway dev   [--nats-port N] [--http-port N] [--data-dir DIR]
      Start a private nats-server (found via $NATS_SERVER, python3's scripts dir, or PATH) and
      the gateway, in dev mode ($DEV.SETUP enabled, keys dk_dev_...). Defaults: 4222, 8222,
      ./data.
  dink-gateway serve --nats-url URL [--http-port N] [--http-addr ADDR] [--data-dir DIR] [--env ENV]
      Run against an existing nats-server configured as docs/gateway.md shows. Credentials from
      the environment: DINK_GW_STATE_USER, DINK_GW_STATE_PASSWORD, DINK_GW_BUS_USER,
      DINK_GW_BUS_PASSWORD, DINK_GW_ISSUER_SEED (the callout issuer account seed, SA...), and
      optionally DINK_GW_SYS_USER, DINK_GW_SYS_PASSWORD (system account: revoked keys'
      connections are closed server-side).

  dink-gateway nats-config --dir DIR [--listen HOST:PORT]
      Write DIR/nats-server.conf (the accounts, auth callout and JetStream store serve needs;
      listen default 127.0.0.1:4222) and DIR/gateway.env (serve's DINK_GW_* credentials), both
      mode 0600, with fresh credentials. Then: nats-server -c DIR/nats-server.conf and
      set -a; . DIR/gateway.env; set +a; dink-gateway serve --nats-url nats://HOST:PORT

OPTIONS (dev and serve):
  --heartbeat-timeout-ms N   edge offline after this long without a heartbeat (default 90000)
  --user-jwt-ttl-secs N      NATS user JWT lifetime: connections re-authenticate this often (600)
  --sync-batch-ms N          collect edge deltas this long before one Convex applyDelta call (5)
  --public-url URL           base URL clients reach the HTTP API at, for tunnel URLs
                             (default http://<HTTP address>)
";

struct Args {
    cmd: String,
    nats_port: Option<u16>,
    nats_url: Option<String>,
    http_addr: Option<SocketAddr>,
    data_dir: PathBuf,
    env: Option<String>,
    heartbeat_ms: Option<u64>,
    jwt_ttl: Option<u64>,
    sync_batch_ms: Option<u64>,
    public_url: Option<String>,
    /// `nats-config`: where to write, and the address nats-server listens on.
    dir: Option<PathBuf>,
    listen: String,
}

fn parse() -> Result<Args, String> {
    let mut it = std::env::args().skip(1);
    let cmd = it.next().unwrap_or_default();
    if cmd.is_empty() || cmd == "--help" || cmd == "-h" || cmd == "help" {
        return Err(String::new());
    }
    let mut a = Args {
        cmd,
        nats_port: None,
        nats_url: None,
        http_addr: None,
        data_dir: PathBuf::from("./data"),
        env: None,
        heartbeat_ms: None,
        jwt_ttl: None,
        sync_batch_ms: None,
        public_url: None,
        dir: None,
        listen: "127.0.0.1:4222".into(),
    };
    while let Some(flag) = it.next() {
        let mut val = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--nats-port" => a.nats_port = Some(val()?.parse().map_err(|_| "bad --nats-port")?),
            "--nats-url" => a.nats_url = Some(val()?),
            "--http-port" => {
                a.http_addr = Some(SocketAddr::from((
                    [127, 0, 0, 1],
                    val()?.parse().map_err(|_| "bad --http-port")?,
                )))
            }
            "--http-addr" => a.http_addr = Some(val()?.parse().map_err(|_| "bad --http-addr")?),
            "--data-dir" => a.data_dir = PathBuf::from(val()?),
            "--env" => a.env = Some(val()?),
            "--heartbeat-timeout-ms" => {
                a.heartbeat_ms = Some(val()?.parse().map_err(|_| "bad --heartbeat-timeout-ms")?)
            }
            "--user-jwt-ttl-secs" => {
                a.jwt_ttl = Some(val()?.parse().map_err(|_| "bad --user-jwt-ttl-secs")?)
            }
            "--sync-batch-ms" => {
                a.sync_batch_ms = Some(val()?.parse().map_err(|_| "bad --sync-batch-ms")?)
            }
            "--public-url" => {
                let u = val()?;
                if !(u.starts_with("http://") || u.starts_with("https://")) {
                    return Err("--public-url must start with http:// or https://".into());
                }
                a.public_url = Some(u)
            }
            "--dir" => a.dir = Some(PathBuf::from(val()?)),
            "--listen" => {
                let l = val()?;
                l.parse::<SocketAddr>()
                    .map_err(|_| format!("bad --listen {l:?} (HOST:PORT, an IP address)"))?;
                a.listen = l
            }
            "--help" | "-h" => return Err(String::new()),
            other => return Err(format!("unknown option {other}")),
        }
    }
    Ok(a)
}

fn env(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| format!("{name} is not set"))
}

#[tokio::main]
async fn main() {
    let args = match parse() {
        Ok(a) => a,
        Err(e) => {
            if e.is_empty() {
                print!("{HELP}");
                return;
            }
            eprintln!("dink-gateway: {e}\n\n{HELP}");
            std::process::exit(2);
        }
    };
    if let Err(e) = run(args).await {
        eprintln!("dink-gateway: {e}");
        std::process::exit(1);
    }
}

async fn run(a: Args) -> Result<(), String> {
    if a.cmd == "nats-config" {
        let dir = a.dir.clone().ok_or("--dir is required")?;
        let (conf, env) = dink_gateway::natsd::write_config_dir(&dir, &a.listen)?;
        println!("wrote {} and {}", conf.display(), env.display());
        println!("start NATS:    nats-server -c {}", conf.display());
        println!(
            "start gateway: set -a; . {}; set +a; dink-gateway serve --nats-url nats://{}",
            env.display(),
            a.listen
        );
        return Ok(());
    }
    let mut _server: Option<NatsServer> = None;
    let http_addr = a
        .http_addr
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8222)));
    let (creds, dev) = match a.cmd.as_str() {
        "dev" => {
            let dir = a.data_dir.join("nats");
            let creds_file = a.data_dir.join("nats-creds.json");
            let old = std::fs::read_to_string(&creds_file)
                .ok()
                .and_then(|t| creds_from_json(&t));
            let s = NatsServer::start(NatsOptions {
                port: Some(a.nats_port.unwrap_or(4222)),
                dir,
                creds: old,
            })?;
            std::fs::write(&creds_file, creds_to_json(&s.creds))
                .map_err(|e| format!("write {}: {e}", creds_file.display()))?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let _ =
                    std::fs::set_permissions(&creds_file, std::fs::Permissions::from_mode(0o600));
            }
            let c = s.creds.clone();
            _server = Some(s);
            (c, true)
        }
        "serve" => {
            let url = a.nats_url.clone().ok_or("--nats-url is required")?;
            (
                NatsCreds {
                    url,
                    state_user: env("DINK_GW_STATE_USER")?,
                    state_password: env("DINK_GW_STATE_PASSWORD")?,
                    bus_user: env("DINK_GW_BUS_USER")?,
                    bus_password: env("DINK_GW_BUS_PASSWORD")?,
                    sys_user: std::env::var("DINK_GW_SYS_USER").unwrap_or_default(),
                    sys_password: std::env::var("DINK_GW_SYS_PASSWORD").unwrap_or_default(),
                    issuer_seed: env("DINK_GW_ISSUER_SEED")?,
                },
                false,
            )
        }
        other => {
            return Err(format!(
                "unknown command {other:?} (dev, serve or nats-config)"
            ))
        }
    };
    let mut cfg = Config::new(creds, http_addr, a.data_dir.clone());
    cfg.dev_mode = dev;
    cfg.env = a
        .env
        .clone()
        .unwrap_or_else(|| if dev { "dev".into() } else { "live".into() });
    if let Some(ms) = a.heartbeat_ms {
        cfg.heartbeat_timeout = Duration::from_millis(ms);
    }
    if let Some(s) = a.jwt_ttl {
        cfg.user_jwt_ttl = Duration::from_secs(s.max(5));
    }
    if let Some(ms) = a.sync_batch_ms {
        cfg.sync_batch_ms = ms.min(10_000);
    }
    cfg.public_url = a.public_url.clone();
    let nats_url = cfg.nats.url.clone();
    let running = Gateway::start(cfg).await?;
    println!("NATS:      {nats_url}");
    println!("HTTP:      http://{}", running.http_addr);
    println!("admin key: {}", running.admin_key_file.display());
    if dev {
        println!("dev mode:  $DEV.SETUP enabled");
    }
    wait_for_signal().await;
    drop(running);
    // `_server` (dev mode) is dropped here too, which kills the nats-server it started.
    Ok(())
}

/// SIGINT or SIGTERM, so `dev` stops its nats-server either way.
async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

fn creds_to_json(c: &NatsCreds) -> String {
    serde_json::json!({
        "state_user": c.state_user, "state_password": c.state_password,
        "bus_user": c.bus_user, "bus_password": c.bus_password, "issuer_seed": c.issuer_seed,
        "sys_user": c.sys_user, "sys_password": c.sys_password,
    })
    .to_string()
}

fn creds_from_json(t: &str) -> Option<NatsCreds> {
    let v: serde_json::Value = serde_json::from_str(t).ok()?;
    let s = |k: &str| v.get(k).and_then(|x| x.as_str()).map(String::from);
    Some(NatsCreds {
        url: String::new(),
        state_user: s("state_user")?,
        state_password: s("state_password")?,
        bus_user: s("bus_user")?,
        bus_password: s("bus_password")?,
        sys_user: s("sys_user")?,
        sys_password: s("sys_password")?,
        issuer_seed: s("issuer_seed")?,
    })
}
