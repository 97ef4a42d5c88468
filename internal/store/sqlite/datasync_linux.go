package sqlite

import (
	"os"
	"syscall"
)

// datasync flushes f's data and the metadata needed to read it back (its size), as SQLite's own
// sync does on Linux (fdatasync). A full fsync would also flush the modification time, which
// makes every sync of the WAL, a file rewritten in place, a journal commit of the filesystem.
func datasync(f *os.File) error {
	for {
		err := syscall.Fdatasync(int(f.Fd()))
		if err != syscall.EINTR {
			return err
		}
	}
}
