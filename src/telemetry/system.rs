//! One long-lived system sampler. CPU usage needs two measurements apart in
//! time, so a background task refreshes a single sysinfo `System` every few
//! seconds and publishes a snapshot; views read the snapshot and never wait.

use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

pub use crate::ui::health::SystemSnapshot;

/// How often the snapshot is refreshed (sysinfo needs >= 200 ms between CPU reads).
pub const SAMPLE_INTERVAL: Duration = Duration::from_secs(2);

/// The shared, always-ready snapshot.
#[derive(Debug, Clone, Default)]
pub struct SystemSampler {
    snapshot: Arc<RwLock<SystemSnapshot>>,
}

impl SystemSampler {
    /// The latest sample (taken in the background, never on a request).
    pub fn snapshot(&self) -> SystemSnapshot {
        self.snapshot.read().map(|s| s.clone()).unwrap_or_default()
    }

    /// Refreshes the snapshot until `shutdown`. Sampling is blocking work, so it
    /// runs on the blocking pool.
    pub async fn run(self, shutdown: CancellationToken) {
        let Ok(system) = sysinfo::System::new() else {
            tracing::warn!("sysinfo is not supported here: system health will be empty");
            return;
        };
        let system = Arc::new(std::sync::Mutex::new(system));
        let os = format!(
            "{} {}",
            sysinfo::System::name().unwrap_or_else(|_| std::env::consts::OS.to_owned()),
            sysinfo::System::os_version().unwrap_or_default()
        );
        let workdir = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
        let mut first = true;
        loop {
            let (system, os, workdir) = (system.clone(), os.clone(), workdir.clone());
            let with_cpu = !first;
            let sample = tokio::task::spawn_blocking(move || {
                let mut system = system.lock().expect("the sampler is the only user");
                sample(&mut system, os.trim().to_owned(), &workdir, with_cpu)
            })
            .await;
            if let (Ok(sample), Ok(mut shared)) = (sample, self.snapshot.write()) {
                *shared = sample;
            }
            first = false;
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(SAMPLE_INTERVAL) => {}
            }
        }
    }
}

fn sample(
    system: &mut sysinfo::System,
    os: String,
    workdir: &std::path::Path,
    with_cpu: bool,
) -> SystemSnapshot {
    system.refresh_cpu_usage();
    system.refresh_memory();
    let process_rss = sysinfo::get_current_pid().ok().and_then(|pid| {
        system.refresh_processes(sysinfo::ProcessesToUpdate::Some(&[pid]), true);
        system.process(pid).map(sysinfo::Process::memory)
    });
    // The disk holding the working directory: the longest mount point above it.
    let (disk_used, disk_total) = sysinfo::Disks::new_with_refreshed_list()
        .ok()
        .and_then(|disks| {
            disks
                .iter()
                .filter(|disk| workdir.starts_with(disk.mount_point()))
                .max_by_key(|disk| disk.mount_point().as_os_str().len())
                .map(|disk| {
                    (
                        disk.total_space() - disk.available_space(),
                        disk.total_space(),
                    )
                })
        })
        .map_or((None, None), |(used, total)| (Some(used), Some(total)));
    SystemSnapshot {
        cpu_percent: with_cpu.then(|| system.global_cpu_usage()),
        memory_used: system.used_memory(),
        memory_total: system.total_memory(),
        process_rss,
        disk_used,
        disk_total,
        os,
    }
}
