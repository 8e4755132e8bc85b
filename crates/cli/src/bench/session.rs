//! `Session`: a sequence of workloads on one engine in one directory, emptying the
//! store for the fill workloads and loading it for a read that finds it empty.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::engine::{Engine, EngineError, EngineFactory, EngineResult};
use super::run::{self, Config, Outcome};
use super::workload::Workload;

/// Workloads run one after another on one engine.
pub struct Session<'f> {
    factory: &'f dyn EngineFactory,
    dir: PathBuf,
    config: Config,
    engine: Option<Box<dyn Engine>>,
    /// Whether the keys `0..num` are in the store.
    loaded: bool,
}

impl std::fmt::Debug for Session<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("engine", &self.factory.name())
            .field("dir", &self.dir)
            .field("loaded", &self.loaded)
            .finish()
    }
}

impl<'f> Session<'f> {
    /// A session in `dir` (which the fill workloads empty). `loaded` says whether the
    /// store there already holds the keys `0..num`.
    pub fn new(factory: &'f dyn EngineFactory, dir: &Path, config: Config, loaded: bool) -> Self {
        Session {
            factory,
            dir: dir.to_path_buf(),
            config,
            engine: None,
            loaded,
        }
    }

    /// Runs `workload`, then makes its writes durable (untimed).
    ///
    /// # Errors
    /// An engine error, or a failure to empty the directory.
    pub fn run(&mut self, workload: Workload) -> EngineResult<Outcome> {
        if workload.starts_empty() {
            self.reset()?;
        } else if !self.loaded {
            self.load()?;
        }
        let config = self.config.clone();
        let engine = self.engine()?;
        let outcome = run::run(engine, workload, &config)?;
        engine.settle()?;
        if workload.starts_empty() {
            self.loaded = workload.leaves_data();
        }
        Ok(outcome)
    }

    /// Closes the engine and measures how long opening it again takes.
    ///
    /// # Errors
    /// The engine's error on open.
    pub fn reopen(&mut self) -> EngineResult<Duration> {
        self.engine = None;
        let start = Instant::now();
        let engine = self.factory.open(&self.dir)?;
        let took = start.elapsed();
        self.engine = Some(engine);
        Ok(took)
    }

    /// Closes the engine (the directory stays).
    pub fn close(mut self) {
        self.engine = None;
    }

    fn engine(&mut self) -> EngineResult<&dyn Engine> {
        if self.engine.is_none() {
            self.engine = Some(self.factory.open(&self.dir)?);
        }
        self.engine
            .as_deref()
            .ok_or_else(|| EngineError::from("engine not open"))
    }

    /// Closes the engine and empties its directory.
    fn reset(&mut self) -> EngineResult<()> {
        self.engine = None;
        if self.dir.exists() {
            std::fs::remove_dir_all(&self.dir)?;
        }
        std::fs::create_dir_all(&self.dir)?;
        self.loaded = false;
        Ok(())
    }

    /// Fills an empty store with the keys `0..num` in batches, untimed, quietly.
    fn load(&mut self) -> EngineResult<()> {
        self.reset()?;
        let config = Config {
            progress: false,
            max_duration: None,
            ..self.config.clone()
        };
        let engine = self.engine()?;
        run::run(engine, Workload::FillBatch, &config)?;
        engine.settle()?;
        self.loaded = true;
        Ok(())
    }
}
