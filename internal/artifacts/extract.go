package artifacts

import (
	"archive/tar"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/sagetrain/sagetrain/internal/errs"
)

// Limits bounds what ExtractTarGz accepts. Zero fields take DefaultLimits' value.
type Limits struct {
	MaxTotalBytes int64 // sum of the sizes of all regular files, uncompressed
	MaxFileBytes  int64 // size of any one regular file
	MaxEntries    int   // number of tar entries of any kind
}

// DefaultLimits fit a trained model and its report with a wide margin.
var DefaultLimits = Limits{
	MaxTotalBytes: 4 << 30, // 4 GiB
	MaxFileBytes:  2 << 30, // 2 GiB
	MaxEntries:    100_000,
}

// ErrUnsafeArchive is matched (errors.Is) by every refusal of an entry that
// would write outside the folder or create a special file.
var ErrUnsafeArchive = errors.New("unsafe archive entry")

// ErrArchiveTooLarge is matched by refusals for exceeding a Limits bound.
var ErrArchiveTooLarge = errors.New("archive exceeds limits")

func (l Limits) withDefaults() Limits {
	if l.MaxTotalBytes <= 0 {
		l.MaxTotalBytes = DefaultLimits.MaxTotalBytes
	}
	if l.MaxFileBytes <= 0 {
		l.MaxFileBytes = DefaultLimits.MaxFileBytes
	}
	if l.MaxEntries <= 0 {
		l.MaxEntries = DefaultLimits.MaxEntries
	}
	return l
}

func unsafeErr(archive, entry, why string) error {
	return errs.Job(fmt.Sprintf("refusing to unpack %s: entry %q %s", archive, entry, why),
		"the archive was not written by sagetrain's trainer or was tampered with; inspect it with 'tar tvzf' before using it",
		ErrUnsafeArchive)
}

func limitErr(archive, what string) error {
	return errs.Job(fmt.Sprintf("refusing to unpack %s: %s", archive, what),
		"inspect the archive; if it is genuine, raise the extraction limits",
		ErrArchiveTooLarge)
}

// ExtractTarGz unpacks the gzip-compressed tar archivePath into destDir
// (created if missing). On error, destDir may hold the entries unpacked
// before the refused one; callers unpack into a fresh folder.
func ExtractTarGz(archivePath, destDir string, limits Limits) error {
	var made []string
	err := extract(archivePath, destDir, limits.withDefaults(), &made)
	if len(made) == 0 {
		return err
	}
	// Also after a refusal: what was unpacked before it holds no link out.
	if cerr := checkTree(archivePath, destDir, made); err == nil {
		err = cerr
	}
	return err
}

// extract unpacks entries, recording in *made every name it wrote.
func extract(archivePath, destDir string, limits Limits, madep *[]string) error {
	f, err := os.Open(archivePath)
	if err != nil {
		return errs.Job("open archive "+archivePath, "check that the artifact was downloaded", err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return errs.Job("read archive "+archivePath+" as gzip", "the file is not a .tar.gz; download it again", err)
	}
	defer zr.Close()
	if err := os.MkdirAll(destDir, 0o755); err != nil {
		return errs.Job("create folder "+destDir, "check the folder's permissions", err)
	}
	root, err := os.OpenRoot(destDir)
	if err != nil {
		return errs.Job("open folder "+destDir, "check the folder's permissions", err)
	}
	defer root.Close()

	tr := tar.NewReader(zr)
	var total int64
	entries := 0
	made := *madep
	defer func() { *madep = made }()
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return errs.Job("read archive "+archivePath, "the archive is truncated or corrupt; download it again", err)
		}
		if hdr.Typeflag == tar.TypeXGlobalHeader {
			continue // PAX metadata, not a file
		}
		entries++
		if entries > limits.MaxEntries {
			return limitErr(archivePath, fmt.Sprintf("more than %d entries", limits.MaxEntries))
		}
		name, err := cleanName(hdr.Name)
		if err != nil {
			return unsafeErr(archivePath, hdr.Name, err.Error())
		}
		if name == "." {
			continue
		}
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := root.MkdirAll(name, 0o755); err != nil {
				return extractErr(archivePath, hdr.Name, err)
			}
			made = append(made, name)
		case tar.TypeReg, '\x00': // '\x00' is the old TypeRegA, which Go 1.11+ reads as TypeReg
			if hdr.Size < 0 || hdr.Size > limits.MaxFileBytes {
				return limitErr(archivePath, fmt.Sprintf("entry %q is %d bytes, more than the %d allowed for one file", hdr.Name, hdr.Size, limits.MaxFileBytes))
			}
			if total+hdr.Size > limits.MaxTotalBytes {
				return limitErr(archivePath, fmt.Sprintf("its files add up to more than %d bytes", limits.MaxTotalBytes))
			}
			n, err := writeFile(root, name, hdr, tr)
			total += n
			if err != nil {
				return extractErr(archivePath, hdr.Name, err)
			}
			made = append(made, name)
		case tar.TypeSymlink:
			if err := checkLinkTarget(name, hdr.Linkname, true); err != nil {
				return unsafeErr(archivePath, hdr.Name, err.Error())
			}
			if err := mkParent(root, name); err != nil {
				return extractErr(archivePath, hdr.Name, err)
			}
			if err := root.Symlink(hdr.Linkname, name); err != nil {
				return extractErr(archivePath, hdr.Name, err)
			}
			made = append(made, name)
		case tar.TypeLink:
			if err := checkLinkTarget(name, hdr.Linkname, false); err != nil {
				return unsafeErr(archivePath, hdr.Name, err.Error())
			}
			target, _ := cleanName(hdr.Linkname)
			// link(2) of a symlink makes another symlink, which no name
			// check would see: a hard link may only point at a regular file.
			st, err := root.Lstat(target)
			if err != nil {
				return unsafeErr(archivePath, hdr.Name, "is a hard link to "+strconv.Quote(hdr.Linkname)+", which is not a file unpacked before it")
			}
			if !st.Mode().IsRegular() {
				return unsafeErr(archivePath, hdr.Name, "is a hard link to "+strconv.Quote(hdr.Linkname)+", which is not a regular file (a symlink or folder)")
			}
			if err := mkParent(root, name); err != nil {
				return extractErr(archivePath, hdr.Name, err)
			}
			if err := root.Link(target, name); err != nil {
				return extractErr(archivePath, hdr.Name, err)
			}
			made = append(made, name)
		case tar.TypeChar, tar.TypeBlock:
			return unsafeErr(archivePath, hdr.Name, "is a device file")
		case tar.TypeFifo:
			return unsafeErr(archivePath, hdr.Name, "is a named pipe (fifo)")
		default:
			return unsafeErr(archivePath, hdr.Name, fmt.Sprintf("has unsupported tar type %q", string(hdr.Typeflag)))
		}
	}
}

func extractErr(archive, entry string, err error) error {
	// os.Root reports an escape attempt (e.g. through a symlink planted by an
	// earlier entry) as a path error; name it as the refusal it is.
	if strings.Contains(err.Error(), "path escapes") {
		return unsafeErr(archive, entry, "resolves outside the destination folder through a link")
	}
	return errs.Job(fmt.Sprintf("unpack entry %q of %s", entry, archive), "check free disk space and the folder's permissions", err)
}

// cleanName turns a tar entry name into a clean relative slash path, refusing
// absolute paths and any ".." component.
func cleanName(n string) (string, error) {
	if n == "" {
		return "", errors.New("has an empty name")
	}
	if strings.HasPrefix(n, "/") || strings.HasPrefix(n, `\`) || (len(n) >= 2 && n[1] == ':') {
		return "", errors.New("has an absolute path")
	}
	if strings.ContainsRune(n, 0) {
		return "", errors.New("has a NUL byte in its name")
	}
	for _, part := range strings.FieldsFunc(n, func(r rune) bool { return r == '/' || r == '\\' }) {
		if part == ".." {
			return "", errors.New("has a '..' path component")
		}
	}
	return path.Clean(strings.TrimRight(n, "/")), nil
}

// checkLinkTarget refuses a link whose target leaves the folder. Symlink
// targets are relative to the link's own folder; hard link targets are
// archive names.
func checkLinkTarget(name, target string, symlink bool) error {
	if target == "" {
		return errors.New("is a link with an empty target")
	}
	if strings.HasPrefix(target, "/") || strings.HasPrefix(target, `\`) {
		return fmt.Errorf("is a link to the absolute path %q", target)
	}
	resolved := path.Clean(target) // a hard link names a path from the archive's root
	if symlink {
		resolved = path.Join(path.Dir(name), target)
	}
	if resolved == ".." || strings.HasPrefix(resolved, "../") {
		return fmt.Errorf("is a link to %q, outside the destination folder", target)
	}
	if !symlink {
		if _, err := cleanName(target); err != nil {
			return fmt.Errorf("is a hard link to %q, outside the destination folder", target)
		}
	}
	return nil
}

// checkTree looks at the final tree: every name this extraction wrote that
// is now a symlink, however it got there (a symlink entry, a hard link to
// one, a later entry), must resolve inside destDir, else it is removed and
// the archive refused. The per-entry checks are lexical; links composed
// with other links (a -> ".", b -> "a/..") can only be judged once all of
// them exist. Links that were in destDir before are not ours to judge.
func checkTree(archive, destDir string, links []string) error {
	realDest, err := filepath.EvalSymlinks(destDir)
	if err != nil {
		return errs.Job("resolve folder "+destDir, "check the folder's permissions", err)
	}
	var bad error
	for _, name := range links {
		p := filepath.Join(destDir, filepath.FromSlash(name))
		if st, err := os.Lstat(p); err != nil || st.Mode()&fs.ModeSymlink == 0 {
			continue // replaced by a later entry
		}
		target, err := filepath.EvalSymlinks(p)
		var why string
		if err != nil {
			why = "is a link that does not resolve to a file in the archive"
		} else if r, err := filepath.Rel(realDest, target); err != nil || !filepath.IsLocal(r) {
			why = "is a link that resolves outside the destination folder"
		}
		if why != "" {
			os.Remove(p)
			if bad == nil {
				bad = unsafeErr(archive, name, why)
			}
		}
	}
	return bad
}

func mkParent(root *os.Root, name string) error {
	if dir := path.Dir(name); dir != "." {
		return root.MkdirAll(dir, 0o755)
	}
	return nil
}

// writeFile copies one regular file's body, reading at most hdr.Size bytes
// (the tar reader enforces that) and never keeping setuid/setgid bits.
func writeFile(root *os.Root, name string, hdr *tar.Header, r io.Reader) (int64, error) {
	if err := mkParent(root, name); err != nil {
		return 0, err
	}
	perm := fs.FileMode(0o644)
	if hdr.Mode&0o111 != 0 {
		perm = 0o755
	}
	// Remove first so an existing symlink at this name is replaced, never followed.
	if err := root.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return 0, err
	}
	out, err := root.OpenFile(name, os.O_CREATE|os.O_EXCL|os.O_WRONLY, perm)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(out, r)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return n, err
}
