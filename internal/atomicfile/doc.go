// Package atomicfile writes files through a temporary file in the same
// folder and a rename, so that a crash, a SIGKILL or a reader in another
// process never sees half a file: the one copy of that dance.
package atomicfile
