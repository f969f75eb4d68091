//! `/proc/PID/maps`, `/proc/PID/auxv` and `/proc/PID/map_files`: what a process has mapped,
//! and what the kernel told its dynamic loader at exec.

use nix::errno::Errno;
use std::io::Read;

/// Mapping protection bits (`r`, `w`, `x` of the maps line).
pub const PROT_READ: u32 = 1;
pub const PROT_WRITE: u32 = 2;
pub const PROT_EXEC: u32 = 4;

/// One line of `/proc/PID/maps`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapEntry {
    pub start: u64,
    pub end: u64,
    pub offset: u64,
    /// `PROT_*` bits.
    pub prot: u32,
    /// `s` (shared) rather than `p` (private).
    pub shared: bool,
    pub dev_major: u32,
    pub dev_minor: u32,
    pub inode: u64,
    /// The path or pseudo-name (`[stack]`, `[vdso]`); empty for anonymous memory. A deleted
    /// file keeps the kernel's " (deleted)" suffix.
    pub path: String,
}

impl MapEntry {
    /// Whether the mapping is backed by a file (a path that begins with '/', and an inode).
    pub fn is_file(&self) -> bool {
        self.inode != 0 && self.path.starts_with('/')
    }
}

fn errno_of(e: &std::io::Error) -> Errno {
    e.raw_os_error().map_or(Errno::EIO, Errno::from_raw)
}

fn read_all(path: &str) -> Result<Vec<u8>, Errno> {
    let mut buf = Vec::with_capacity(16384);
    std::fs::File::open(path)
        .and_then(|mut f| f.read_to_end(&mut buf))
        .map_err(|e| errno_of(&e))?;
    Ok(buf)
}

/// Parses one maps line: `start-end perms offset major:minor inode   path`.
pub fn parse_line(line: &str) -> Option<MapEntry> {
    let mut rest = line;
    let mut field = || {
        let t = rest.trim_start_matches(' ');
        let end = t.find(' ').unwrap_or(t.len());
        let (f, r) = t.split_at(end);
        rest = r;
        f
    };
    let (range, perms, offset, dev, inode) = (field(), field(), field(), field(), field());
    let (start, end) = range.split_once('-')?;
    let (major, minor) = dev.split_once(':')?;
    let perms = perms.as_bytes();
    if perms.len() < 4 {
        return None;
    }
    let mut prot = 0;
    if perms[0] == b'r' {
        prot |= PROT_READ;
    }
    if perms[1] == b'w' {
        prot |= PROT_WRITE;
    }
    if perms[2] == b'x' {
        prot |= PROT_EXEC;
    }
    Some(MapEntry {
        start: u64::from_str_radix(start, 16).ok()?,
        end: u64::from_str_radix(end, 16).ok()?,
        offset: u64::from_str_radix(offset, 16).ok()?,
        prot,
        shared: perms[3] == b's',
        dev_major: u32::from_str_radix(major, 16).ok()?,
        dev_minor: u32::from_str_radix(minor, 16).ok()?,
        inode: inode.parse().ok()?,
        path: rest.trim_start_matches(' ').to_string(),
    })
}

/// Every mapping of process `pid`, in address order. ENOENT/ESRCH: the process is gone.
pub fn maps(pid: i32) -> Result<Vec<MapEntry>, Errno> {
    let raw = read_all(&format!("/proc/{pid}/maps"))?;
    let text = String::from_utf8_lossy(&raw);
    Ok(text.lines().filter_map(parse_line).collect())
}

/// The auxiliary vector the kernel gave the program at exec: (type, value) pairs.
pub fn auxv(pid: i32) -> Result<Vec<(u64, u64)>, Errno> {
    let raw = read_all(&format!("/proc/{pid}/auxv"))?;
    Ok(raw
        .chunks_exact(16)
        .map(|c| {
            let word = |b: &[u8]| u64::from_ne_bytes(b.try_into().expect("8 bytes"));
            (word(&c[..8]), word(&c[8..]))
        })
        .take_while(|&(t, _)| t != 0)
        .collect())
}

/// The `/proc/PID/map_files` entry of a mapping: opening it opens the file the process really
/// mapped, even if the path now names another file (replaced on disk) or none (deleted).
pub fn map_file_path(pid: i32, start: u64, end: u64) -> String {
    format!("/proc/{pid}/map_files/{start:x}-{end:x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_file_anonymous_and_pseudo_lines() {
        let l = parse_line(
            "7f1e2a400000-7f1e2a428000 r-xp 00028000 fd:01 1835  /usr/lib/x86_64-linux-gnu/libc.so.6",
        )
        .unwrap();
        assert_eq!((l.start, l.end, l.offset), (0x7f1e2a400000, 0x7f1e2a428000, 0x28000));
        assert_eq!(
            (l.prot, l.shared, l.dev_major, l.dev_minor, l.inode),
            (5, false, 0xfd, 1, 1835)
        );
        assert_eq!(l.path, "/usr/lib/x86_64-linux-gnu/libc.so.6");
        assert!(l.is_file());
        let anon = parse_line("7ffd1000-7ffd2000 rw-s 00000000 00:00 0 ").unwrap();
        assert_eq!((anon.prot, anon.shared, anon.path.as_str()), (3, true, ""));
        assert!(!anon.is_file());
        let stack = parse_line("7ffd1000-7ffd2000 rw-p 00000000 00:00 0    [stack]").unwrap();
        assert_eq!(stack.path, "[stack]");
        let spaced = parse_line("1000-2000 r--p 00000000 08:01 7  /tmp/a b (deleted)").unwrap();
        assert_eq!(spaced.path, "/tmp/a b (deleted)");
        assert!(parse_line("garbage").is_none());
    }
}
