// Command gzip-oracle gzips stdin to stdout with Go's compress/gzip at -level.
package main

import (
	"bufio"
	"compress/gzip"
	"flag"
	"io"
	"os"
)

func main() {
	level := flag.Int("level", gzip.DefaultCompression, "level")
	chunk := flag.Int("chunk", 32<<10, "write size")
	flag.Parse()
	out := bufio.NewWriter(os.Stdout)
	w, err := gzip.NewWriterLevel(out, *level)
	if err != nil {
		panic(err)
	}
	buf := make([]byte, *chunk)
	in := bufio.NewReaderSize(os.Stdin, 1<<20)
	for {
		n, err := io.ReadFull(in, buf)
		if n > 0 {
			if _, err := w.Write(buf[:n]); err != nil {
				panic(err)
			}
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			panic(err)
		}
	}
	if err := w.Close(); err != nil {
		panic(err)
	}
	out.Flush()
}
