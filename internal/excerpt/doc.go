// Package excerpt turns user data into what an error, a log line or a page
// may show of it: short, printable, control bytes escaped. Every message
// that quotes a column name, a file name or a value read from a user's file
// goes through it, so no file's contents can ride out on an error.
package excerpt
