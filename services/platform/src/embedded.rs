//! A private Postgres cluster run from the machine's Postgres binaries, for
//! the zero-configuration default and for tests.
//!
//! The cluster lives in `<dir>/postgres`, listens on 127.0.0.1 only (no Unix
//! socket), and requires a password generated at `initdb` and kept in
//! `<dir>/postgres.password` (mode 0600). Postgres refuses to run as root, so
//! as root the cluster runs as the `postgres` system user, which must be able
//! to reach `<dir>`.

use std::io::Read;
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The superuser role the cluster is created with.
const SUPERUSER: &str = "aftercare";
/// The system user that runs the cluster when we are root.
const SYSTEM_USER: &str = "postgres";

#[derive(Debug, thiserror::Error)]
#[error("embedded Postgres: {0}")]
pub struct EmbeddedError(String);

fn fail(message: impl Into<String>) -> EmbeddedError {
    EmbeddedError(message.into())
}

#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Durable writes. Off only for throwaway test clusters, where it makes
    /// every test faster.
    pub fsync: bool,
}

/// A running cluster, and whether this process owns it.
///
/// Ownership is explicit: `<dir>/owner.pid` names the process that owns the
/// running cluster and stops it on [`EmbeddedPostgres::stop`] or drop. A
/// process that finds the cluster running under a live owner attaches to it
/// and leaves it running (several test processes share one cluster). One
/// that finds it running under a dead owner (a crashed server) adopts it, so
/// a crash never leaves a cluster behind for good.
#[derive(Debug)]
pub struct EmbeddedPostgres {
    pgdata: PathBuf,
    bindir: PathBuf,
    run_as: Option<&'static str>,
    port: u16,
    password: String,
    /// This process owns the cluster: it stops it.
    started_here: bool,
    owner_file: PathBuf,
}

/// Whether process `pid` is alive.
fn alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

impl EmbeddedPostgres {
    /// Initialises the cluster in `dir` if needed and starts it, or attaches
    /// to it if it is already running.
    pub fn start(dir: &Path, options: Options) -> Result<EmbeddedPostgres, EmbeddedError> {
        let dir = std::path::absolute(dir).map_err(|e| fail(format!("{}: {e}", dir.display())))?;
        std::fs::create_dir_all(&dir).map_err(|e| fail(format!("creating {}: {e}", dir.display())))?;
        let bindir = find_bindir()?;
        let run_as = is_root().then_some(SYSTEM_USER);
        let pgdata = dir.join("postgres");
        let password_file = dir.join("postgres.password");

        if !pgdata.join("PG_VERSION").exists() {
            init_cluster(&dir, &pgdata, &bindir, run_as, &password_file, options)?;
        }
        let password = std::fs::read_to_string(&password_file)
            .map_err(|e| fail(format!("reading {}: {e}", password_file.display())))?
            .trim()
            .to_owned();

        let mut cluster = EmbeddedPostgres {
            pgdata,
            bindir,
            run_as,
            port: 0,
            password,
            started_here: false,
            owner_file: dir.join("owner.pid"),
        };
        if let Some(port) = cluster.running_port() {
            cluster.port = port;
            let owner: Option<u32> = std::fs::read_to_string(&cluster.owner_file)
                .ok()
                .and_then(|p| p.trim().parse().ok());
            if !owner.is_some_and(|pid| pid != std::process::id() && alive(pid)) {
                tracing::info!(?owner, "adopting an embedded Postgres its owner left running");
                cluster.own()?;
            }
            return Ok(cluster);
        }
        cluster.port = free_port()?;
        let log = cluster.pgdata.join("server.log");
        let out = cluster.pg_ctl(&[
            "start",
            "-w",
            "-t",
            "60",
            "-s",
            "-l",
            &log.to_string_lossy(),
            "-o",
            &format!("-p {}", cluster.port),
        ])?;
        if !out.status.success() {
            let tail = std::fs::read_to_string(&log).unwrap_or_default();
            let tail: Vec<&str> = tail.lines().rev().take(15).collect();
            return Err(fail(format!(
                "pg_ctl start failed: {}{}\nserver log:\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr),
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            )));
        }
        cluster.own()?;
        Ok(cluster)
    }

    /// Records this process as the cluster's owner.
    fn own(&mut self) -> Result<(), EmbeddedError> {
        std::fs::write(&self.owner_file, std::process::id().to_string())
            .map_err(|e| fail(format!("writing {}: {e}", self.owner_file.display())))?;
        self.started_here = true;
        Ok(())
    }

    /// Whether this process owns (and will stop) the cluster.
    pub fn owned(&self) -> bool {
        self.started_here
    }

    /// Stops the cluster at once, as a crash or an outage would, keeping
    /// ownership; [`EmbeddedPostgres::resume`] starts it again on its port.
    pub fn interrupt(&mut self) -> Result<(), EmbeddedError> {
        let out = self.pg_ctl(&["stop", "-w", "-s", "-m", "immediate"])?;
        if out.status.success() {
            Ok(())
        } else {
            Err(fail(format!(
                "pg_ctl stop failed: {}",
                String::from_utf8_lossy(&out.stderr)
            )))
        }
    }

    /// Starts an interrupted cluster again, on the same port.
    pub fn resume(&mut self) -> Result<(), EmbeddedError> {
        let log = self.pgdata.join("server.log");
        let port = format!("-p {}", self.port);
        let out = self.pg_ctl(&[
            "start",
            "-w",
            "-t",
            "60",
            "-s",
            "-l",
            &log.to_string_lossy(),
            "-o",
            &port,
        ])?;
        if out.status.success() {
            Ok(())
        } else {
            Err(fail(format!(
                "pg_ctl start failed: {}",
                String::from_utf8_lossy(&out.stderr)
            )))
        }
    }

    /// A connection URL for `database` as the cluster's superuser.
    pub fn url(&self, database: &str) -> String {
        format!(
            "postgres://{SUPERUSER}:{}@127.0.0.1:{}/{database}",
            self.password, self.port
        )
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops the cluster if this process started it.
    pub fn stop(&mut self) -> Result<(), EmbeddedError> {
        if !self.started_here {
            return Ok(());
        }
        self.started_here = false;
        let _ = std::fs::remove_file(&self.owner_file);
        let out = self.pg_ctl(&["stop", "-w", "-s", "-m", "fast"])?;
        if out.status.success() {
            Ok(())
        } else {
            Err(fail(format!(
                "pg_ctl stop failed: {}",
                String::from_utf8_lossy(&out.stderr)
            )))
        }
    }

    /// The port of an already running postmaster on this data directory.
    fn running_port(&self) -> Option<u16> {
        let status = self.pg_ctl(&["status"]).ok()?;
        if !status.status.success() {
            return None;
        }
        // postmaster.pid: pid, data dir, start time, port, ...
        let pid_file = std::fs::read_to_string(self.pgdata.join("postmaster.pid")).ok()?;
        pid_file.lines().nth(3)?.trim().parse().ok()
    }

    fn pg_ctl(&self, args: &[&str]) -> Result<Output, EmbeddedError> {
        let mut all = vec!["-D", self.pgdata.to_str().ok_or_else(|| fail("data dir is not UTF-8"))?];
        all.extend_from_slice(args);
        run(&self.bindir.join("pg_ctl"), &all, self.run_as)
    }
}

impl Drop for EmbeddedPostgres {
    fn drop(&mut self) {
        if let Err(e) = self.stop() {
            tracing::warn!(error = %e, "stopping embedded Postgres");
        }
    }
}

fn init_cluster(
    dir: &Path,
    pgdata: &Path,
    bindir: &Path,
    run_as: Option<&'static str>,
    password_file: &Path,
    options: Options,
) -> Result<(), EmbeddedError> {
    let io = |what: &str, p: &Path, e: std::io::Error| fail(format!("{what} {}: {e}", p.display()));
    // A directory without PG_VERSION is a half-finished earlier initdb.
    if pgdata.exists() {
        std::fs::remove_dir_all(pgdata).map_err(|e| io("removing", pgdata, e))?;
    }
    std::fs::create_dir(pgdata).map_err(|e| io("creating", pgdata, e))?;
    std::fs::set_permissions(pgdata, std::fs::Permissions::from_mode(0o700)).map_err(|e| io("chmod", pgdata, e))?;

    let password = random_hex(24)?;
    let pwfile = dir.join(".initdb-password");
    std::fs::write(&pwfile, &password).map_err(|e| io("writing", &pwfile, e))?;
    std::fs::set_permissions(&pwfile, std::fs::Permissions::from_mode(0o600)).map_err(|e| io("chmod", &pwfile, e))?;

    if let Some(user) = run_as {
        let (uid, gid) = user_ids(user)?;
        for p in [pgdata, pwfile.as_path()] {
            std::os::unix::fs::chown(p, Some(uid), Some(gid)).map_err(|e| io("chown", p, e))?;
        }
        let reachable = run(Path::new("test"), &["-w", pgdata.to_str().unwrap_or_default()], run_as)?;
        if !reachable.status.success() {
            let _ = std::fs::remove_file(&pwfile);
            return Err(fail(format!(
                "the `{user}` system user cannot reach {}; Postgres refuses to run as root, so pick a data \
                 directory outside a closed home directory (e.g. --data-dir /var/lib/aftercare)",
                pgdata.display()
            )));
        }
    }

    let mut args = vec![
        "-D",
        pgdata.to_str().ok_or_else(|| fail("data dir is not UTF-8"))?,
        "-U",
        SUPERUSER,
        "--auth=scram-sha-256",
        "--encoding=UTF8",
        "--locale=C",
        "--no-instructions",
    ];
    let pwfile_arg = format!("--pwfile={}", pwfile.display());
    args.push(&pwfile_arg);
    if !options.fsync {
        args.push("--no-sync");
    }
    let out = run(&bindir.join("initdb"), &args, run_as);
    let _ = std::fs::remove_file(&pwfile);
    let out = out?;
    if !out.status.success() {
        return Err(fail(format!(
            "initdb failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )));
    }

    let mut conf = String::from(
        "\n# aftercare embedded cluster\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = ''\n\
         max_connections = 200\n",
    );
    if !options.fsync {
        conf.push_str("fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n");
    }
    let conf_path = pgdata.join("postgresql.conf");
    let mut existing = std::fs::read_to_string(&conf_path).map_err(|e| io("reading", &conf_path, e))?;
    existing.push_str(&conf);
    std::fs::write(&conf_path, existing).map_err(|e| io("writing", &conf_path, e))?;

    std::fs::write(password_file, &password).map_err(|e| io("writing", password_file, e))?;
    std::fs::set_permissions(password_file, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| io("chmod", password_file, e))?;
    Ok(())
}

/// Runs `program`, as `user` through `runuser` when given, from `/` so that a
/// working directory the user cannot read does not matter.
fn run(program: &Path, args: &[&str], user: Option<&str>) -> Result<Output, EmbeddedError> {
    let mut command = match user {
        Some(user) => {
            let mut c = Command::new("runuser");
            c.args(["-u", user, "--"]).arg(program);
            c
        }
        None => Command::new(program),
    };
    command
        .args(args)
        .current_dir("/")
        .output()
        .map_err(|e| fail(format!("running {}: {e}", program.display())))
}

/// Where `initdb` and `pg_ctl` live: `$AFTERCARE_PG_BINDIR`, then
/// `pg_config --bindir`, then the newest `/usr/lib/postgresql/*/bin`.
pub fn find_bindir() -> Result<PathBuf, EmbeddedError> {
    let has_server = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    if let Some(dir) = std::env::var_os("AFTERCARE_PG_BINDIR").map(PathBuf::from) {
        return if has_server(&dir) {
            Ok(dir)
        } else {
            Err(fail(format!(
                "AFTERCARE_PG_BINDIR={} has no initdb/pg_ctl",
                dir.display()
            )))
        };
    }
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if out.status.success() && has_server(&dir) {
            return Ok(dir);
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path().join("bin"))))
        .filter(|(_, bin)| has_server(bin))
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin).ok_or_else(|| {
        fail(
            "no PostgreSQL server binaries found (initdb, pg_ctl). Install them (Debian/Ubuntu: \
             `apt-get install -y postgresql`), set AFTERCARE_PG_BINDIR, or pass --database-url",
        )
    })
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(2) == Some("0"))
        })
        .unwrap_or(false)
}

fn user_ids(user: &str) -> Result<(u32, u32), EmbeddedError> {
    let id = |flag: &str| -> Result<u32, EmbeddedError> {
        let out = Command::new("id")
            .args([flag, user])
            .output()
            .map_err(|e| fail(format!("running id: {e}")))?;
        String::from_utf8_lossy(&out.stdout).trim().parse().map_err(|_| {
            fail(format!(
                "running as root needs the `{user}` system user (it comes with the postgresql package), \
                 which this machine lacks"
            ))
        })
    };
    Ok((id("-u")?, id("-g")?))
}

fn free_port() -> Result<u16, EmbeddedError> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| fail(format!("finding a free port: {e}")))?;
    Ok(listener.local_addr().map_err(|e| fail(e.to_string()))?.port())
}

/// `bytes` random bytes from the OS, hex encoded.
pub fn random_hex(bytes: usize) -> Result<String, EmbeddedError> {
    let mut buf = vec![0u8; bytes];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut buf))
        .map_err(|e| fail(format!("reading /dev/urandom: {e}")))?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}
