// Command pgzip-oracle gzips stdin to stdout with klauspost/pgzip exactly as
// umoci 0.4.7 does (level -1, SetConcurrency(256<<10, n)); -bs and -level
// change that. A development aid for the TypeScript port in
// src/registry/layer/klauspost-pgzip/: the tests do not need Go. See README.md.
package main

import (
	"bufio"
	"flag"
	"io"
	"os"

	gzip "github.com/klauspost/pgzip"
)

func main() {
	bs := flag.Int("bs", 256<<10, "block size")
	level := flag.Int("level", -1, "level")
	chunk := flag.Int("chunk", 32<<10, "write size")
	blocks := flag.Int("blocks", 4, "concurrency")
	flag.Parse()
	out := bufio.NewWriter(os.Stdout)
	w, err := gzip.NewWriterLevel(out, *level)
	if err != nil {
		panic(err)
	}
	if err := w.SetConcurrency(*bs, *blocks); err != nil {
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
