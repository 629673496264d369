//! The server's lock file, `postmaster.pid`, and whether the process it names lives.

/// What a server's `postmaster.pid` says about it. The file is written in
/// steps while the server starts, so later fields may be missing.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct PostmasterPid {
    pub(super) pid: Option<i32>,
    pub(super) port: Option<u16>,
    /// `starting`, `ready`, `stopping` or `standby` (the last line).
    pub(super) status: Option<String>,
}

impl PostmasterPid {
    /// Lines: 1 pid, 2 data directory, 3 start time, 4 port, 5 socket
    /// directory, 6 listen address, 7 shared memory key, 8 status.
    pub(super) fn parse(contents: &str) -> PostmasterPid {
        let lines: Vec<&str> = contents.lines().map(str::trim).collect();
        let field = |index: usize| lines.get(index).copied().filter(|line| !line.is_empty());
        PostmasterPid {
            pid: field(0).and_then(|pid| pid.parse().ok()),
            port: field(3).and_then(|port| port.parse().ok()),
            status: field(7).map(str::to_owned),
        }
    }

    pub(super) fn is_ready(&self) -> bool {
        self.status.as_deref() == Some("ready")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_complete_postmaster_pid_gives_pid_port_and_status() {
        let contents = "11944\n/tmp/cluster/data\n1795555216\n54999\n/tmp/cluster/data/sockets\n127.0.0.1\n 10010870         9\nready   \n";
        let lock = PostmasterPid::parse(contents);
        assert_eq!(lock.pid, Some(11944));
        assert_eq!(lock.port, Some(54999));
        assert!(lock.is_ready());
    }

    #[test]
    fn a_partially_written_postmaster_pid_gives_what_it_has() {
        let starting = PostmasterPid::parse("4242\n/data\n1795555216\n5433\n");
        assert_eq!(starting.pid, Some(4242));
        assert_eq!(starting.port, Some(5433));
        assert!(!starting.is_ready());
        assert_eq!(PostmasterPid::parse(""), PostmasterPid::default());
        assert_eq!(PostmasterPid::parse("not a pid\n").pid, None);
    }
}
