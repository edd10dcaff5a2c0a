//! `faceid-server`: the FaceID backend binary.

use std::io::{BufRead, IsTerminal, Write};
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use faceid_server::{AppState, Secrets, Settings, db};
use sqlx::PgPool;

#[derive(Parser)]
#[command(name = "faceid-server", version, about = "FaceID backend server")]
struct Cli {
    /// TOML config file (see README, "Configuration").
    #[arg(long, global = true, env = "FACEID_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP server until SIGINT or SIGTERM.
    Serve {
        /// Address to listen on [default: 127.0.0.1:8080].
        #[arg(long)]
        listen: Option<SocketAddr>,
        /// Data directory (local PostgreSQL, generated secrets) [default: ./data].
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Install missing face models from this directory (a FaceID model mirror).
        #[arg(long, value_name = "DIR")]
        model_mirror: Option<PathBuf>,
        /// Never download missing face models (air-gapped sites): the log says which files to
        /// place where.
        #[arg(long)]
        no_model_fetch: bool,
    },
    /// Apply database migrations and exit.
    Migrate {
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Write a backup (database, photos, and a manifest naming the secrets kept elsewhere) to
    /// one file.
    Backup {
        /// The archive to write (a tar file).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Restore a backup into an empty database and the photo store; the descriptor_key must be
    /// the one the backup was made with.
    Restore {
        /// The archive written by `backup`.
        file: PathBuf,
        /// Replace the contents of a database that is not empty.
        #[arg(long)]
        force: bool,
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Manage administrator accounts.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create an administrator. The password is read from standard input, or from the
    /// environment variable named by --password-env.
    Create {
        #[arg(long)]
        login: String,
        /// "First Last".
        #[arg(long)]
        name: String,
        /// Read the password from this environment variable instead of standard input.
        #[arg(long)]
        password_env: Option<String>,
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
}

fn init_tracing(settings: &Settings) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    if settings.log_format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// Whether the command is `serve`, which owns (and supervises) a managed local cluster.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Owner {
    Serve,
    Command,
}

/// The database the settings name, or the managed local cluster in the data directory.
async fn open_database(settings: &Settings, owner: Owner) -> anyhow::Result<(PgPool, Database)> {
    let acquire_timeout = std::time::Duration::from_millis(settings.db_acquire_timeout_ms);
    if let Some(url) = &settings.database_url {
        let pool = db::connect(url, settings.db_max_connections, acquire_timeout).await?;
        return Ok((pool, Database::External(url.clone())));
    }
    let binaries = faceid_server::local_pg::PgBinaries::discover()?;
    let local = match owner {
        Owner::Serve => {
            faceid_server::local_pg::LocalPostgres::start_for_serve(&settings.data_dir, binaries)
                .await
        }
        Owner::Command => {
            faceid_server::local_pg::LocalPostgres::start_with(&settings.data_dir, binaries).await
        }
    }
    .context("starting the local PostgreSQL (set DATABASE_URL to use another one)")?;
    let pool = db::connect(
        &local.database_url(),
        settings.db_max_connections,
        acquire_timeout,
    )
    .await?;
    Ok((pool, Database::Local(local)))
}

enum Database {
    External(String),
    Local(faceid_server::local_pg::LocalPostgres),
}

impl Database {
    fn url(&self) -> String {
        match self {
            Database::External(url) => url.clone(),
            Database::Local(local) => local.database_url(),
        }
    }

    async fn stop(self, pool: PgPool) {
        pool.close().await;
        if let Database::Local(local) = self
            && let Err(e) = local.stop().await
        {
            tracing::error!(error = %e, "stopping the local PostgreSQL failed");
        }
    }
}

fn photo_store(settings: &Settings) -> faceid_server::photo_store::PhotoStore {
    faceid_server::photo_store::PhotoStore::new(
        settings.photo_store_url.as_deref(),
        &settings.data_dir,
    )
}

fn read_password(password_env: Option<&str>) -> anyhow::Result<String> {
    if let Some(var) = password_env {
        return std::env::var(var)
            .with_context(|| format!("environment variable {var} is not set"));
    }
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprint!("Password: ");
        std::io::stderr().flush().ok();
    }
    let mut line = String::new();
    stdin
        .lock()
        .read_line(&mut line)
        .context("reading the password from standard input")?;
    let password = line.trim_end_matches(['\n', '\r']).to_owned();
    if password.is_empty() {
        bail!("no password given on standard input");
    }
    Ok(password)
}

fn main() -> anyhow::Result<()> {
    // Before anything else runs code compiled for x86-64-v3 (see .cargo/config.toml).
    faceid_face::cpu::check()?;
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?
        .block_on(run())
}

async fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let mut settings = Settings::load(cli.config.as_deref(), |k| std::env::var(k).ok())?;
    let data_dir = match &cli.command {
        Command::Serve { data_dir, .. }
        | Command::Migrate { data_dir }
        | Command::Backup { data_dir, .. }
        | Command::Restore { data_dir, .. }
        | Command::Admin {
            command: AdminCommand::Create { data_dir, .. },
        } => data_dir.clone(),
    };
    if let Some(d) = data_dir {
        settings.data_dir = d;
    }
    if let Command::Serve {
        listen,
        model_mirror,
        no_model_fetch,
        ..
    } = &cli.command
    {
        if let Some(l) = listen {
            settings.listen = *l;
        }
        if let Some(m) = model_mirror {
            settings.model_mirror = Some(m.clone());
        }
        if *no_model_fetch {
            settings.model_fetch = false;
        }
    }
    init_tracing(&settings);
    std::fs::create_dir_all(&settings.data_dir)
        .with_context(|| format!("creating data directory {}", settings.data_dir.display()))?;

    match cli.command {
        Command::Serve { .. } => {
            let secrets = Secrets::load_or_generate(&settings)?;
            let (pool, database) = open_database(&settings, Owner::Serve).await?;
            let result = async {
                db::migrate(&pool).await?;
                // Models first: a first start may spend a while installing them.
                let engine = faceid_server::model_install::install_and_load(&settings).await;
                let listener = tokio::net::TcpListener::bind(settings.listen)
                    .await
                    .with_context(|| format!("binding {}", settings.listen))?;
                let telegram =
                    faceid_server::telegram::Telegram::from_settings(&settings, pool.clone())
                        .await?;
                let state = AppState::new(pool.clone(), settings.clone(), secrets)
                    .map_err(|e| anyhow::anyhow!("{e}"))?
                    .with_face_engine(engine)
                    .with_telegram(telegram.clone());
                let registry = faceid_server::job_registry(
                    &state,
                    faceid_server::jobs::retention::retention_days_from_env(),
                );
                let (stop_jobs, jobs_stopped) = tokio::sync::watch::channel(false);
                let worker = faceid_server::jobs::Worker::new(
                    pool.clone(),
                    registry,
                    faceid_server::jobs::WorkerConfig::default(),
                );
                let alert_streams = settings.hikvision_alert_stream.then(|| {
                    tokio::spawn(faceid_server::hikvision::stream::run(
                        state.clone(),
                        jobs_stopped.clone(),
                    ))
                });
                let poller = telegram.map(|tg| {
                    tokio::spawn(faceid_server::telegram::updates::run(
                        tg,
                        jobs_stopped.clone(),
                    ))
                });
                // A managed cluster that dies is restarted (requests answer 503 meanwhile).
                let supervisor = match &database {
                    Database::Local(local) => Some(local.supervise(jobs_stopped.clone())),
                    Database::External(_) => None,
                };
                let worker = tokio::spawn(worker.run(jobs_stopped));
                let served =
                    faceid_server::run(listener, state, faceid_server::shutdown_signal()).await;
                // Running jobs get their grace period; the rest go back to the queue.
                let _ = stop_jobs.send(true);
                if let Err(e) = worker.await {
                    tracing::error!(error = %e, "the job worker failed");
                }
                if let Some(p) = poller
                    && let Err(e) = p.await
                {
                    tracing::error!(error = %e, "the Telegram poller failed");
                }
                if let Some(a) = alert_streams
                    && let Err(e) = a.await
                {
                    tracing::error!(error = %e, "the Hikvision alert streams failed");
                }
                // Before the cluster is stopped, or the supervisor would start it again.
                if let Some(s) = supervisor
                    && let Err(e) = s.await
                {
                    tracing::error!(error = %e, "the local PostgreSQL supervisor failed");
                }
                served?;
                anyhow::Ok(())
            }
            .await;
            database.stop(pool).await;
            result
        }
        Command::Migrate { .. } => {
            let (pool, database) = open_database(&settings, Owner::Command).await?;
            let result = db::migrate(&pool).await;
            database.stop(pool).await;
            result?;
            tracing::info!("migrations applied");
            Ok(())
        }
        Command::Backup { out, .. } => {
            let secrets = Secrets::load_or_generate(&settings)?;
            let (pool, database) = open_database(&settings, Owner::Command).await?;
            let photos = photo_store(&settings);
            let result =
                faceid_server::backup::backup(&database.url(), &pool, &photos, &secrets, &out)
                    .await;
            database.stop(pool).await;
            let summary = result?;
            tracing::info!(
                file = %out.display(),
                bytes = summary.bytes,
                photos = summary.manifest.photos,
                "backup written; keep descriptor_key (data_dir/secrets) separately: without it the face descriptors cannot be read"
            );
            Ok(())
        }
        Command::Restore { file, force, .. } => {
            let secrets = Secrets::load_or_generate(&settings)?;
            let (pool, database) = open_database(&settings, Owner::Command).await?;
            let photos = photo_store(&settings);
            let result = faceid_server::backup::restore(
                &file,
                &database.url(),
                &pool,
                &photos,
                &secrets,
                force,
            )
            .await;
            database.stop(pool).await;
            let summary = result?;
            tracing::info!(
                file = %file.display(),
                made = %summary.manifest.created_at,
                photos = summary.manifest.photos,
                "backup restored"
            );
            Ok(())
        }
        Command::Admin {
            command:
                AdminCommand::Create {
                    login,
                    name,
                    password_env,
                    ..
                },
        } => {
            let (first, last) = name
                .trim()
                .split_once(char::is_whitespace)
                .map(|(f, l)| (f.trim().to_owned(), l.trim().to_owned()))
                .context("--name must be \"First Last\"")?;
            let password = read_password(password_env.as_deref())?;
            let (pool, database) = open_database(&settings, Owner::Command).await?;
            let result = async {
                db::migrate(&pool).await?;
                faceid_server::routes::employees::create_admin(
                    &pool, &login, &first, &last, password,
                )
                .await
                .map_err(|e| match e {
                    faceid_server::AppError::Validation(errs) => anyhow::anyhow!(
                        "{}",
                        errs.iter()
                            .map(|e| format!("{}: {}", e.field, e.message))
                            .collect::<Vec<_>>()
                            .join("; ")
                    ),
                    other => anyhow::anyhow!("{other}"),
                })
            }
            .await;
            database.stop(pool).await;
            let id = result?;
            #[allow(clippy::print_stdout)]
            {
                println!("created administrator {login} ({id})");
            }
            Ok(())
        }
    }
}
