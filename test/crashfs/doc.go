// Package crashfs is a file system for power-loss tests: a FUSE file
// system that remembers which of its changes were made durable and, on a
// simulated power cut, throws the others away, with the reordering a real
// disk allows, as LazyFS or a dm-log-writes replay do. scripts/powercut
// runs goqmail on it (docs/crash.md, "Power loss").
//
// # What is durable when
//
// Every change a program makes is applied at once to what the mount shows
// and logged as pending. It becomes durable, i.e. certain to survive a
// cut, only through one of these calls:
//
//   - fsync(2) of a file: its writes, truncations and attribute changes;
//     fdatasync(2): its writes and truncations. Not its names.
//   - fsync(2) of a directory: every name operation that changed its
//     entries (create, mkdir, symlink, link, unlink, rmdir, rename into or
//     out of it) and its own attributes.
//   - syncfs(2) of the file system, or sync(2): everything.
//
// A rename is one operation on two directories. It becomes durable
// through an fsync of either of them, whole: both the new name and the
// removal of the old one, as ext4 commits both in one journal
// transaction. It is never half applied (both names, or neither).
//
// Making an operation durable first makes durable every pending operation
// it depends on: those that changed, or read, a directory entry it
// changes, and those that made or removed an inode whose existence it
// needs (a directory must exist to receive a name and be empty to be
// removed). So an fsync of new/ after rename(tmp/x, new/x) also makes the
// creation of tmp/x durable, as any journaling file system must. Data is
// never a dependency of a name: a rename can be durable while the writes
// to the file it names are not. That is the hazard the harness looks for.
//
// The model is POSIX's minimum, not ext4's journal: on ext4 an fsync of any
// file commits every name change made before it, here it makes durable
// only that file's data. Programs that are correct here are correct on
// any file system that keeps POSIX's promises.
//
// # The cut
//
// Cut stops the file system at once (every later request fails with EIO
// and changes nothing) and computes the image a disk could hold after the
// power came back: the durable image plus a random subset of the pending
// operations, applied in their original order. Each cut draws a keep
// probability (none, all, or uniform in between) and keeps each pending
// operation with it, but only if every pending operation it depends on
// was kept too; one whose premises nevertheless fail (a name that is no
// longer there) is dropped. Writes are kept or lost page by page (4 KB of
// the file), so a file can come back torn: some pages new, others old or
// zero. Inodes no name reaches are discarded, as fsck would. The draws come
// from the caller's seeded generator, in log order: the same history and
// seed give the same image.
//
// # Flush time
//
// A sync call covers what was issued before it started. With FS.FlushDelay
// set, it takes that long before it returns, as a disk's cache flush does,
// while other processes go on; a cut meanwhile fails it with EIO. With
// instant syncs the window between a rename and the sync that follows is
// narrower than on any disk.
//
// # syncfs
//
// Linux sends FUSE_SYNCFS only to virtiofs, so a syncfs(2) on a FUSE mount
// never reaches the server and would make nothing durable. Programs that
// must be tested in syncfs mode are started with FS.Start, which traps
// their syncfs(2) and sync(2) calls with a seccomp user notification filter
// and applies them to the model before the call returns (trap.go).
// sync_file_range(2) starts write-back of the page cache only, promises no
// durability, and is not modelled.
//
// # Limits
//
// File locks (flock, fcntl) are the kernel's, local to the mount, which is
// what a single machine has. Memory mapped writes, extended attributes,
// RENAME_EXCHANGE, O_TMPFILE, device nodes and fallocate are not
// supported (goqmail uses none of them). Timestamps are not compared by
// anything and are kept loosely. Everything lives in memory.
package crashfs
