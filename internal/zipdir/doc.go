// Package zipdir counts the records of a ZIP central directory before
// archive/zip reads it. archive/zip builds a record for every one it finds,
// whatever the end record declares (it compares the count modulo 65,536),
// so a reader that caps entries must count first: a megabyte of one-letter
// records costs a quarter of a gigabyte once built. Verify (package
// evidence) and the XDM reader (package cda) count with it; Start, where
// the central directory begins, also serves the XDM reader's comparison of
// local and central member names.
package zipdir
