// Sample workload for `profdiff compare`: three CPU-bound functions under one call path, with a
// flag that makes exactly one of them (checksumBlock) do more work. Writes a CPU profile.
//
//	go run main.go -o base.pb.gz            # baseline
//	go run main.go -slow -o slow.pb.gz      # checksumBlock does 2.5x the work
package main

import (
	"flag"
	"log"
	"os"
	"runtime/pprof"
	"time"
)

var sink uint64

//go:noinline
func checksumBlock(buf []byte, rounds int) uint64 {
	var h uint64 = 1469598103934665603
	for r := 0; r < rounds; r++ {
		for _, b := range buf {
			h ^= uint64(b)
			h *= 1099511628211
		}
	}
	return h
}

//go:noinline
func parseRecords(buf []byte) uint64 {
	var n uint64
	for i := 0; i < 40; i++ {
		for _, b := range buf {
			if b == '\n' {
				n++
			}
			n += uint64(b & 3)
		}
	}
	return n
}

//go:noinline
func sortKeys(keys []uint32) uint64 {
	k := append([]uint32(nil), keys...)
	for i := 1; i < len(k); i++ {
		for j := i; j > 0 && k[j] < k[j-1]; j-- {
			k[j], k[j-1] = k[j-1], k[j]
		}
	}
	return uint64(k[len(k)/2])
}

//go:noinline
func processBatch(buf []byte, keys []uint32, slow bool) {
	rounds := 40
	if slow {
		rounds = 100
	}
	sink += checksumBlock(buf, rounds)
	sink += parseRecords(buf)
	sink += sortKeys(keys)
}

func main() {
	out := flag.String("o", "cpu.pb.gz", "output profile")
	slow := flag.Bool("slow", false, "make checksumBlock slower")
	dur := flag.Duration("d", 1500*time.Millisecond, "how long to run")
	flag.Parse()
	buf := make([]byte, 64*1024)
	for i := range buf {
		buf[i] = byte(i*7 + i/13)
	}
	keys := make([]uint32, 1500)
	for i := range keys {
		keys[i] = uint32((i * 2654435761) % 100003)
	}
	f, err := os.Create(*out)
	if err != nil {
		log.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		log.Fatal(err)
	}
	deadline := time.Now().Add(*dur)
	batches := 0
	for time.Now().Before(deadline) || batches == 0 {
		processBatch(buf, keys, *slow)
		batches++
	}
	pprof.StopCPUProfile()
	if err := f.Close(); err != nil {
		log.Fatal(err)
	}
}
