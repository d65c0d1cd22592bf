package artifacts

import (
	"archive/tar"
	"compress/gzip"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/sagetrain/sagetrain/internal/atomicfile"
	"github.com/sagetrain/sagetrain/internal/errs"
)

// archiveTime is the modification time of every entry CreateTarGz writes, so
// the same folder always gives the same bytes.
var archiveTime = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// CreateTarGz packs srcDir's contents (entry names relative to srcDir, no
// leading "./") into archivePath, deterministically: entries in lexical
// order, fixed times, owners and permissions (0755 for directories and
// executables, 0644 otherwise). Symlinks are stored as links; other special
// files are refused. The archive is written to a temporary file and renamed
// into place, so a reader never sees half an archive. An empty srcDir gives a
// valid empty archive. archivePath must not be inside srcDir.
func CreateTarGz(srcDir, archivePath string) (err error) {
	absSrc, err := filepath.Abs(srcDir)
	if err != nil {
		return errs.Job("resolve folder "+srcDir, "check the path", err)
	}
	absOut, err := filepath.Abs(archivePath)
	if err != nil {
		return errs.Job("resolve archive path "+archivePath, "check the path", err)
	}
	if rel, err := filepath.Rel(absSrc, absOut); err == nil && filepath.IsLocal(rel) {
		return errs.Job(fmt.Sprintf("archive %s is inside the folder %s it packs", archivePath, srcDir),
			"write the archive somewhere outside the folder", nil)
	}
	if st, err := os.Stat(srcDir); err != nil || !st.IsDir() {
		if err == nil {
			err = fmt.Errorf("not a directory")
		}
		return errs.Job("pack folder "+srcDir, "check that the folder exists", err)
	}
	if err := os.MkdirAll(filepath.Dir(absOut), 0o755); err != nil {
		return errs.Job("create folder for "+archivePath, "check the folder's permissions", err)
	}
	var packErr error // a failure of the packing itself, already in words
	err = atomicfile.Write(absOut, 0o600, func(tmp *os.File) error {
		packErr = pack(tmp, absSrc, srcDir, archivePath)
		return packErr
	})
	if packErr != nil {
		return packErr
	}
	if err != nil {
		return errs.Job("write "+archivePath, "check the folder's permissions and free space", err)
	}
	return nil
}

// pack writes absSrc's contents as a tar.gz to w.
func pack(w io.Writer, absSrc, srcDir, archivePath string) error {
	// BestSpeed: model weights barely compress, and artifacts are made on
	// every job end. The header has a zero ModTime and no name.
	zw, _ := gzip.NewWriterLevel(w, gzip.BestSpeed)
	tw := tar.NewWriter(zw)
	walkErr := filepath.WalkDir(absSrc, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == absSrc {
			return nil
		}
		rel, err := filepath.Rel(absSrc, p)
		if err != nil {
			return err
		}
		return addEntry(tw, p, filepath.ToSlash(rel), d)
	})
	if walkErr != nil {
		return errs.Job("pack folder "+srcDir, "check the folder's contents and permissions", walkErr)
	}
	if err := tw.Close(); err != nil {
		return errs.Job("write "+archivePath, "check free disk space", err)
	}
	if err := zw.Close(); err != nil {
		return errs.Job("write "+archivePath, "check free disk space", err)
	}
	return nil
}

func addEntry(tw *tar.Writer, p, name string, d fs.DirEntry) error {
	info, err := d.Info()
	if err != nil {
		return err
	}
	hdr := &tar.Header{Name: name, ModTime: archiveTime, Format: tar.FormatPAX}
	switch mode := info.Mode(); {
	case mode.IsDir():
		hdr.Typeflag, hdr.Name, hdr.Mode = tar.TypeDir, name+"/", 0o755
	case mode.IsRegular():
		hdr.Typeflag, hdr.Size, hdr.Mode = tar.TypeReg, info.Size(), 0o644
		if mode&0o111 != 0 {
			hdr.Mode = 0o755
		}
	case mode&fs.ModeSymlink != 0:
		target, err := os.Readlink(p)
		if err != nil {
			return err
		}
		hdr.Typeflag, hdr.Linkname, hdr.Mode = tar.TypeSymlink, target, 0o777
	default:
		return fmt.Errorf("%s is a special file (%v); only files, folders and symlinks are packed", p, mode.Type())
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	if hdr.Typeflag != tar.TypeReg {
		return nil
	}
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	// Copy exactly the size announced; a file growing meanwhile must not corrupt the archive.
	n, err := io.Copy(tw, io.LimitReader(f, hdr.Size))
	if err == nil && n != hdr.Size {
		err = fmt.Errorf("%s shrank while being packed", p)
	}
	return err
}
