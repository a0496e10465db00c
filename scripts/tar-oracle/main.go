// Command tar-oracle lists tar archives the way Go's archive/tar reads
// them: Go's reader is what containerd, CRI-O, umoci and skopeo unpack
// image layers with, so it is the reference for what a container's rootfs
// holds. tessera's tests run it (built from Debian's golang-go, standard
// library only) on Go's own testdata and on archives they generate, and
// compare with tessera's reading. See README.md.
//
// Usage: tar-oracle [-max-content N] FILE...
//
// For each FILE it prints one JSON line: {"file", "entries": [...], "error"}.
// Each entry has the header fields Go returns (byte strings as hex, times as
// decimal seconds and nanoseconds, so nothing is lost) and, unless its size
// is above -max-content, the length and sha256 of the content Go reads
// (holes of sparse files as zeros). "error" is Next's or Read's error, or
// null when the archive ended cleanly (io.EOF).
package main

import (
	"archive/tar"
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
)

type content struct {
	Length int64  `json:"length"`
	Sha256 string `json:"sha256"`
}

type entry struct {
	Typeflag   int               `json:"typeflag"`
	Name       string            `json:"name"`
	Linkname   string            `json:"linkname"`
	Size       int64             `json:"size"`
	Mode       int64             `json:"mode"`
	Uid        int               `json:"uid"`
	Gid        int               `json:"gid"`
	Uname      string            `json:"uname"`
	Gname      string            `json:"gname"`
	MtimeSec   string            `json:"mtimeSec"`
	MtimeNsec  int               `json:"mtimeNsec"`
	Devmajor   int64             `json:"devmajor"`
	Devminor   int64             `json:"devminor"`
	Xattrs     [][2]string       `json:"xattrs"`
	PAXRecords map[string]string `json:"paxRecords"`
	Format     string            `json:"format"`
	Content    *content          `json:"content"`
}

type result struct {
	File    string  `json:"file"`
	Entries []entry `json:"entries"`
	Error   *string `json:"error"`
}

func hexOf(s string) string { return hex.EncodeToString([]byte(s)) }

func list(path string, maxContent int64) result {
	r := result{File: path, Entries: []entry{}}
	fail := func(err error) result {
		msg := err.Error()
		r.Error = &msg
		return r
	}
	f, err := os.Open(path)
	if err != nil {
		return fail(err)
	}
	defer f.Close()
	// A plain reader (not the *os.File): Go then discards by reading, as it
	// does for a layer stream.
	tr := tar.NewReader(bufio.NewReader(struct{ io.Reader }{f}))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return r
		}
		if err != nil {
			return fail(err)
		}
		e := entry{
			Typeflag:  int(h.Typeflag),
			Name:      hexOf(h.Name),
			Linkname:  hexOf(h.Linkname),
			Size:      h.Size,
			Mode:      h.Mode,
			Uid:       h.Uid,
			Gid:       h.Gid,
			Uname:     hexOf(h.Uname),
			Gname:     hexOf(h.Gname),
			MtimeSec:  strconv.FormatInt(h.ModTime.Unix(), 10),
			MtimeNsec: h.ModTime.Nanosecond(),
			Devmajor:  h.Devmajor,
			Devminor:  h.Devminor,
			Xattrs:    [][2]string{},
			Format:    h.Format.String(),
		}
		if h.ModTime.IsZero() {
			e.MtimeSec = "zero"
		}
		e.PAXRecords = map[string]string{}
		for k, v := range h.PAXRecords {
			e.PAXRecords[hexOf(k)] = hexOf(v)
		}
		for k, v := range h.Xattrs { //nolint:staticcheck // what the runtimes read
			e.Xattrs = append(e.Xattrs, [2]string{hexOf(k), hexOf(v)})
		}
		sort.Slice(e.Xattrs, func(i, j int) bool { return e.Xattrs[i][0] < e.Xattrs[j][0] })
		if h.Size <= maxContent {
			sum := sha256.New()
			n, err := io.Copy(sum, tr)
			if err != nil {
				r.Entries = append(r.Entries, e)
				return fail(err)
			}
			e.Content = &content{Length: n, Sha256: hex.EncodeToString(sum.Sum(nil))}
		}
		r.Entries = append(r.Entries, e)
	}
}

func main() {
	maxContent := flag.Int64("max-content", 256<<20, "largest entry whose content is read and hashed")
	flag.Parse()
	out := bufio.NewWriter(os.Stdout)
	enc := json.NewEncoder(out)
	for _, path := range flag.Args() {
		if err := enc.Encode(list(path, *maxContent)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
	}
	if err := out.Flush(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
}
