// Package artifacts packs and safely unpacks the .tar.gz archives a training
// job produces (SageMaker's model.tar.gz and output.tar.gz, and the local
// backend's copies of them).
//
// ExtractTarGz treats every archive as hostile: it refuses absolute paths,
// "..", links that leave the destination, device and fifo files, and archives
// past a size or entry-count limit, each with an errs.ErrJob error that also
// matches ErrUnsafeArchive or ErrArchiveTooLarge. Writes go through os.Root,
// so even a path that slips past the checks cannot leave the folder.
package artifacts
