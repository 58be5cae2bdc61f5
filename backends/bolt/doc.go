// Package bolt is the durable embedded backend: alerts in one file on local
// disk (go.etcd.io/bbolt), fsync'd before Append returns. It is the default
// store of the CLI and the durable tier of a chain (redis -> bolt), where it
// keeps what the primary could not take until replay moves it up.
//
// # DSN
//
//	bolt:///var/lib/alertstore/alerts.db    absolute path (empty host, like file:///)
//	bolt://./alerts.db                       relative to the working directory
//	bolt://./data/alerts.db
//	bolt://~/alertstore/alerts.db            relative to $HOME
//
// The path is the host and path of the URL together: an empty host means an
// absolute path, "." (or "..") a relative one and "~" the home directory.
// Any other host is refused, because "bolt://alerts.db" reads as a host
// named alerts.db and would otherwise open a file nobody meant; write
// bolt://./alerts.db. Missing parent directories are created (mode 0700);
// the file is created with mode 0600, since alerts name hosts and users.
//
// Parameters, besides the shared ones (prefix, max_alerts, max_alert_bytes,
// timeout; see docs/dsn.md):
//
//	max_bytes     bound on the total bytes of the prefix's stored alerts,
//	              1024..1TiB, default 1GiB; the oldest go first when either
//	              bound is reached. The file is larger than this (pages,
//	              free list) and never shrinks: freed pages are reused.
//	sync          always (default) or batch. Both fsync before Append
//	              returns; they differ in when a commit starts. always
//	              commits as soon as the writer is free, grouping the
//	              appends that queued meanwhile (group commit with no added
//	              delay). batch waits up to batch_window after the first
//	              queued append for more, trading that much latency for
//	              fewer fsyncs under many concurrent writers.
//	batch_window  the batch wait, 100us..1s, default 2ms (sync=batch only).
//	lock_timeout  how long Open waits for the file lock another process
//	              holds, 0s..1m, default 1s; then Open fails with
//	              ErrUnavailable ("file locked by another process").
//	read_only     true: open an existing file for reading only (a shared
//	              lock); writes fail with ErrInvalidConfig. A file this
//	              user can read but not write is opened so anyway.
//	follow_symlinks  true: the path may be a symbolic link. Default false:
//	              a link is refused, at the open itself (O_NOFOLLOW).
//
// # Files
//
// An existing file is verified before bbolt maps it (verify.go): bbolt
// panics, in a goroutine no caller can recover, on a damaged page. A
// damaged file, a directory, a non-regular file and a file this user may
// not read are ErrInvalidConfig naming the path; the file is left as it
// was. A file or directory whose mode lets group or others in is logged
// (log/slog, once per file and process) and listed in FileInfo.Warnings.
//
// # Layout
//
// One bucket per prefix holds the entries, keyed by their position as a
// big-endian uint64 (so key order is append order and a cursor is a Seek);
// the bucket "#meta" holds, per prefix, the next position, the entry count
// and the total bytes, so Count is O(1) and trimming knows when to stop.
// Append, trim and the meta update are one bolt transaction: a reader never
// sees the store over its cap, and a crash leaves either all of an Append or
// none of it. Clear deletes the entries and keeps the position counter, so
// positions (and cursors) never go backwards; Drop (backend.Dropper)
// deletes the counters too, for scratch namespaces.
//
// # Sharing and watch
//
// A bolt file can be opened once per process (bolt holds an exclusive file
// lock), so every Open of one path in a process shares a single *bolt.DB:
// two stores on the same DSN see each other's alerts (Capabilities.Shared)
// and watchers are told of appends made through any of them, after the
// commit. Another process opening the file waits lock_timeout, then fails.
//
// The driver declares the drain capability (backend.Drainer: Oldest and
// Remove), what a chain needs of a crash-safe lower tier, so replay can
// move its entries up in order and delete them only after the higher tier
// confirmed. Store.As supports *FileInfo: the file's path, whether it is
// open read-only, and the warnings found at open.
//
// # Backup
//
// Backup (BackupDSN, `alertstore backup`) writes a consistent, checked copy
// of a file, also while another process holds its lock and writes: then
// without the lock, accepting a copy only when no commit came between two
// reads of the meta page (see Backup for why that is enough).
package bolt
